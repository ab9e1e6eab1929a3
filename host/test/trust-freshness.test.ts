import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as v from "valibot";

import { contentDigest, manifestSchema, sha256Hex, type SigningKey } from "@berth/plugin-sdk/package";
import type { RegistryObject } from "../src/framework/index.ts";
import { makeKey, signedPackage, type SuiteKey } from "../../test/security/cases.ts";
import { api, createTicket, hook, install, pluginSource, uniqueTenant } from "./helpers/api.ts";

const HOUR = 3600;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Returns a tagger manifest of publisher `berth-test` (or `publisher`) and its module. */
async function tagger(name: string, publisher = "berth-test"): Promise<{ manifest: Record<string, unknown>; modules: Record<string, string> }> {
  const source = pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "fresh"] }; }` }, `// ${name}`);
  const manifest = {
    name,
    version: "1.0.0",
    publisher,
    hostRange: "^0.1.0",
    compatibilityDate: "2026-11-01",
    main: "index.js",
    modules: { "index.js": { sha256: await sha256Hex(source), size: new TextEncoder().encode(source).byteLength } },
    hooks: { "ticket.beforeCreate": hook("tag") },
  };
  return { manifest, modules: { "index.js": source } };
}

async function sign(plugin: { manifest: Record<string, unknown>; modules: Record<string, string> }, key: SigningKey, issuedAt: number, lifetime?: number) {
  return signedPackage(plugin.manifest, key, plugin.modules, lifetime === undefined ? { now: issuedAt } : { now: issuedAt, expiresInSeconds: lifetime });
}

async function trustedKey(kid: string, publisher: string): Promise<SuiteKey> {
  const key = await makeKey(kid, "Ed25519", publisher);
  await api("POST", "/v1/trust/keys", key.trusted);
  return key;
}

function catalogue(): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName("catalogue"));
}

describe("a re-signed package of the same content", () => {
  it("refreshes the stored token", async () => {
    const plugin = await tagger("fresh-refresh");
    const now = nowSeconds();
    const first = await sign(plugin, env.TEST_SIGNING_KEY, now - 120, HOUR);
    const second = await sign(plugin, env.TEST_SIGNING_KEY, now, 30 * 24 * HOUR);

    const published = await api("POST", "/v1/plugins", first);
    const refreshed = await api("POST", "/v1/plugins", second);
    const stored = await api("GET", "/v1/plugins/fresh-refresh/1.0.0");

    expect(published.status).toBe(201);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.published).toMatchObject({ created: false, refreshed: true, digest: await sha256Hex(second.manifest) });
    expect(stored.body.digest).toBe(await sha256Hex(second.manifest));
  });

  it("keeps the newer token when an older one arrives", async () => {
    const plugin = await tagger("fresh-older");
    const now = nowSeconds();
    const newer = await sign(plugin, env.TEST_SIGNING_KEY, now, HOUR);
    const older = await sign(plugin, env.TEST_SIGNING_KEY, now - 600, HOUR);
    await api("POST", "/v1/plugins", newer);

    const replay = await api("POST", "/v1/plugins", older);
    const stored = await api("GET", "/v1/plugins/fresh-older/1.0.0");

    expect(replay.status).toBe(200);
    expect(replay.body.published).toMatchObject({ created: false, refreshed: false });
    expect(stored.body.digest).toBe(await sha256Hex(newer.manifest));
  });

  it("makes an expired version installable again", async () => {
    const plugin = await tagger("fresh-expired");
    const now = nowSeconds();
    // Stored straight into the registry, as if published two hours ago with a one-hour signature.
    const expired = await sign(plugin, env.TEST_SIGNING_KEY, now - 2 * HOUR, HOUR);
    const manifest = v.parse(manifestSchema, plugin.manifest);
    await env.PACKAGES.put(`modules/sha256/${manifest.modules["index.js"]?.sha256}`, plugin.modules["index.js"] ?? "");
    await catalogue().add({
      name: manifest.name,
      version: manifest.version,
      publisher: manifest.publisher,
      digest: await sha256Hex(expired.manifest),
      contentDigest: await contentDigest(manifest),
      kid: env.TEST_SIGNING_KEY.kid,
      token: expired.manifest,
      manifest,
      publishedAt: Date.now() - 2 * HOUR * 1000,
      issuedAt: now - 2 * HOUR,
      yanked: null,
    });
    const tenant = uniqueTenant("fresh-expired");

    const refused = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "fresh-expired" });
    const refreshed = await api("POST", "/v1/plugins", await sign(plugin, env.TEST_SIGNING_KEY, now, 30 * 24 * HOUR));
    const installed = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "fresh-expired" });

    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("ERR_SIGNATURE_EXPIRED");
    expect(refreshed.body.published.refreshed).toBe(true);
    expect(installed.status).toBe(201);
  });

  it("moves the version to the new key", async () => {
    const oldKey = await trustedKey("fresh-move-1", "fresh-move");
    const newKey = await trustedKey("fresh-move-2", "fresh-move");
    const plugin = await tagger("fresh-move-plugin", "fresh-move");
    const now = nowSeconds();
    await api("POST", "/v1/plugins", await sign(plugin, oldKey.signing, now - 60));
    const tenant = uniqueTenant("fresh-move");
    await install(tenant, { name: "fresh-move-plugin" });

    const moved = await api("POST", "/v1/plugins", await sign(plugin, newKey.signing, now));
    const stored = await api("GET", "/v1/plugins/fresh-move-plugin/1.0.0");
    const revoked = await api("POST", "/v1/trust/keys/fresh-move-1/revoke", { reason: "rotated out after a laptop theft" });
    const ticket = await createTicket(tenant, { title: "Still running" });

    expect(moved.body.published.refreshed).toBe(true);
    expect(stored.body.kid).toBe("fresh-move-2");
    expect(revoked.body.installations).toEqual([]);
    expect(ticket.body.ticket.tags).toEqual(["fresh"]);
  });

  it("is rejected when signed by a retired key", async () => {
    const key = await trustedKey("fresh-retired-1", "fresh-retired");
    const plugin = await tagger("fresh-retired-plugin", "fresh-retired");
    const now = nowSeconds();
    await api("POST", "/v1/plugins", await sign(plugin, key.signing, now - 60));
    await api("POST", "/v1/trust/keys/fresh-retired-1/retire");

    const response = await api("POST", "/v1/plugins", await sign(plugin, key.signing, now));

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_RETIRED");
  });

  it("with different content is a conflict", async () => {
    const plugin = await tagger("fresh-conflict");
    const now = nowSeconds();
    await api("POST", "/v1/plugins", await sign(plugin, env.TEST_SIGNING_KEY, now - 60));
    const changed = { ...plugin, manifest: { ...plugin.manifest, description: "changed" } };

    const response = await api("POST", "/v1/plugins", await sign(changed, env.TEST_SIGNING_KEY, now));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe("ERR_REGISTRY_VERSION_CONFLICT");
  });
});
