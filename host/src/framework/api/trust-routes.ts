/**
 * Operator routes of the trust store and the registry: list, add, retire and
 * revoke publisher keys, and yank a published version. A revocation or yank
 * disables the affected installations in every tenant before it responds.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { KEY_ID, LIMITS, PLUGIN_NAME, trustedKeySchema, versionSchema } from "@berth/plugin-sdk/package";
import type { IRequest } from "itty-router";
import * as v from "valibot";

import type { BerthEnv } from "../env.ts";
import type { Host } from "../host.ts";
import { blockEverywhere } from "../registry/blocking.ts";
import type { DeploymentTarget } from "../registry/deployments.ts";
import { registryStub } from "../registry/publish.ts";
import type { PackageRecord } from "../registry/registry-object.ts";
import type { KeyView } from "../registry/trust-keys.ts";
import { unwrap, type Result } from "../rpc.ts";
import { requireRole } from "./auth.ts";
import { escapeControlCharacters } from "../tenants/log-text.ts";
import { jsonResponse, parseInput, readJson, readOptionalJson } from "./http.ts";
import { MAX_BODY_BYTES, pathParam, principalOf, type ApiRouter } from "./routes.ts";

const reasonSchema = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "must say why, in 1 to 500 characters"),
  v.maxLength(LIMITS.text, `must be at most ${LIMITS.text} characters`),
);

const seconds = v.pipe(v.number(), v.integer("must be whole seconds since the epoch"), v.minValue(0), v.maxValue(253_402_300_799));

const retireBody = v.strictObject({
  /** Last time packages signed by the key may be installed, in seconds since the epoch. */
  notAfter: v.optional(seconds),
});

const revokeBody = v.strictObject({ reason: reasonSchema });
const yankBody = v.strictObject({ reason: reasonSchema });

const kidSchema = v.pipe(v.string(), v.regex(KEY_ID, "must be 1 to 128 characters of [A-Za-z0-9._:-]"));
const nameSchema = v.pipe(v.string(), v.regex(PLUGIN_NAME, "must be a plugin name"));

/** Registers the `/v1/trust` routes and the yank route on the API router. */
export function registerTrustRoutes(router: ApiRouter, host: Host): void {
  router.get("/trust/keys", async (request, env) => {
    requireRole(principalOf(request), "operator");
    return jsonResponse({ keys: await listKeys(env, host) });
  });

  router.get("/trust/publishers", async (request, env) => {
    requireRole(principalOf(request), "operator");
    const keys = await listKeys(env, host);
    const publishers = new Map<string, { kid: string; status: string }[]>();
    for (const key of keys) publishers.set(key.publisher, [...(publishers.get(key.publisher) ?? []), { kid: key.kid, status: key.status }]);
    return jsonResponse({ publishers: [...publishers.entries()].map(([name, entries]) => ({ name, keys: entries })) });
  });

  router.post("/trust/keys", async (request, env) => {
    const principal = principalOf(request);
    requireRole(principal, "operator");
    const key = parseInput(trustedKeySchema, await readJson(request, MAX_BODY_BYTES), "body");
    for (const field of ["retiredAt", "revokedAt", "revokedReason"] as const) {
      if (key[field] !== undefined) {
        throw new BerthError("ERR_REQUEST_INVALID", `body.${field} cannot be set when adding a key; use POST /v1/trust/keys/:kid/retire or /revoke`, {
          path: `body.${field}`,
        });
      }
    }

    const added = (await registryStub(env).addKey([...host.configuredKeys(env)], key)) as Result<{ key: KeyView; created: boolean }>;
    const { key: stored, created } = unwrap(added);
    if (created) console.log(`berth audit: ${escapeControlCharacters(principal.sub)} added key ${stored.kid} of publisher ${stored.publisher}`);
    return jsonResponse({ key: stored, created }, created ? 201 : 200);
  });

  router.post("/trust/keys/:kid/retire", async (request, env) => {
    const principal = principalOf(request);
    requireRole(principal, "operator");
    const kid = parseInput(kidSchema, pathParam(request, "kid"), "params.kid");
    const body = parseInput(retireBody, await readOptionalJson(request, MAX_BODY_BYTES), "body");

    const key = unwrap((await registryStub(env).retireKey([...host.configuredKeys(env)], kid, body.notAfter)) as Result<KeyView>);
    console.log(`berth audit: ${escapeControlCharacters(principal.sub)} retired key ${kid} of publisher ${key.publisher}`);
    return jsonResponse({ key });
  });

  router.post("/trust/keys/:kid/revoke", async (request, env) => {
    const principal = principalOf(request);
    requireRole(principal, "operator");
    const kid = parseInput(kidSchema, pathParam(request, "kid"), "params.kid");
    const { reason } = parseInput(revokeBody, await readJson(request, MAX_BODY_BYTES), "body");

    const revoked = (await registryStub(env).revokeKey([...host.configuredKeys(env)], kid, reason)) as Result<{ value: KeyView; targets: DeploymentTarget[] }>;
    const { value: key, targets } = unwrap(revoked);
    console.log(`berth audit: ${escapeControlCharacters(principal.sub)} revoked key ${kid} of publisher ${key.publisher}: ${escapeControlCharacters(key.revokedReason ?? reason)}`);
    const installations = await blockEverywhere(env, targets, {
      code: "ERR_TRUST_KEY_REVOKED",
      message: `key "${kid}" of publisher "${key.publisher}" was revoked: ${key.revokedReason ?? reason}`,
      during: "key revocation",
    });
    return jsonResponse({ key, installations });
  });

  router.post("/plugins/:name/:version/yank", async (request, env) => {
    const principal = principalOf(request);
    requireRole(principal, "operator");
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    const version = parseInput(versionSchema, pathParam(request, "version"), "params.version");
    const { reason } = parseInput(yankBody, await readJson(request, MAX_BODY_BYTES), "body");

    const yanked = (await registryStub(env).yank(name, version, reason)) as Result<{ value: PackageRecord; targets: DeploymentTarget[] }>;
    const { value: record, targets } = unwrap(yanked);
    const yankReason = record.yanked?.reason ?? reason;
    console.log(`berth audit: ${escapeControlCharacters(principal.sub)} yanked ${name}@${version}: ${escapeControlCharacters(yankReason)}`);
    const installations = await blockEverywhere(env, targets, {
      code: "ERR_PACKAGE_YANKED",
      message: `${name}@${version} was yanked: ${yankReason}`,
      during: "yank",
    });
    return jsonResponse({
      yanked: { name, version, reason: yankReason, yankedAt: new Date(record.yanked?.at ?? Date.now()).toISOString() },
      installations,
    });
  });
}

// The stub's types turn the JWK's open index signature into never, so the results are typed here.
async function listKeys(env: BerthEnv, host: Host): Promise<KeyView[]> {
  return (await registryStub(env).listKeys([...host.configuredKeys(env)])) as KeyView[];
}

