/**
 * The `/v1` HTTP API of a Berth host: health, catalogues, the registry and each
 * tenant's installations. Hosts add their own routes through `extend`.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { LIMITS, PLUGIN_NAME } from "@berth/plugin-sdk/package";
import { toJsonSchema } from "@valibot/to-json-schema";
import { Router, type IRequest, type RouterType } from "itty-router";
import * as v from "valibot";

import { tenantStub } from "../capabilities/entrypoints.ts";
import { grantsSchema } from "../capabilities/grants.ts";
import type { BerthEnv } from "../env.ts";
import type { Host } from "../host.ts";
import type { AnySchema } from "../hooks/hook-point.ts";
import { publishPackage, registryStub, resolvePackage } from "../registry/publish.ts";
import { unwrap } from "../rpc.ts";
import type { InstallationChange } from "../tenants/tenant-object.ts";
import { requireRole, requireTenant, type Principal } from "./auth.ts";
import { errorResponse, jsonResponse, parseInput, readJson } from "./http.ts";
import { registerTrustRoutes } from "./trust-routes.ts";

/** Largest JSON body of any route but publish, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The router type routes are registered on; handlers get `(request, env, ctx)`. */
export type ApiRouter = RouterType<IRequest, [BerthEnv, ExecutionContext]>;

/** Options of {@link createApi}. */
export interface ApiOptions {
  /** Registers the host app's own routes; they run after the framework's. */
  extend?: (router: ApiRouter) => void;
}

/** Tenant IDs: lower-case letters, digits and inner hyphens, 1 to 64 characters. */
export const tenantSchema = v.pipe(v.string(), v.regex(PLUGIN_NAME, "must be 1 to 64 lower-case letters, digits or inner hyphens"));

const nameSchema = v.pipe(v.string(), v.regex(PLUGIN_NAME, "must be a plugin name"));
const versionOrRange = v.pipe(v.string(), v.minLength(1), v.maxLength(LIMITS.range));

const installBody = v.strictObject({
  name: nameSchema,
  /** An exact version or a semver range; the greatest match is installed. */
  version: v.optional(versionOrRange, "*"),
  grants: v.optional(grantsSchema, {}),
  config: v.optional(v.record(v.string(), v.unknown()), {}),
  enable: v.optional(v.boolean(), true),
});

const patchBody = v.pipe(
  v.strictObject({
    version: v.optional(versionOrRange),
    grants: v.optional(grantsSchema),
    config: v.optional(v.record(v.string(), v.unknown())),
    state: v.optional(v.picklist(["enabled", "disabled"], "must be enabled or disabled")),
    consent: v.optional(v.picklist(["accept", "decline"], "must be accept or decline")),
    /** Allows `version` to be lower than the installed one; the move is logged as an audit line. */
    downgrade: v.optional(v.boolean()),
  }),
  v.check((body) => Object.keys(body).length > 0, "must change at least one of version, grants, config, state or consent"),
  v.check((body) => body.consent === undefined || body.version === undefined, "must not combine consent with version; consent answers the pending upgrade"),
  v.check((body) => body.downgrade === undefined || body.version !== undefined, "must name a version with downgrade"),
);

/** Keys that valibot's `record` schema drops without an issue, because they name prototype properties. */
const PROTOTYPE_KEYS = new Set(["__proto__", "prototype", "constructor"]);

/**
 * Raises for a prototype-named key in the body's `grants` or `config`, which
 * `v.record` would drop without an issue: `ERR_CONFIG_INVALID` in config, as for
 * any key the manifest does not declare, and `ERR_REQUEST_INVALID` in grants.
 */
function rejectPrototypeKeys(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  const { grants, config } = body as { grants?: unknown; config?: unknown };
  for (const key of ownKeys(config)) {
    if (PROTOTYPE_KEYS.has(key)) {
      throw new BerthError("ERR_CONFIG_INVALID", `config.${key} is not a known key; remove it or check its spelling`, { path: `config.${key}` });
    }
  }
  for (const key of ownKeys(grants)) {
    if (PROTOTYPE_KEYS.has(key)) {
      throw new BerthError("ERR_REQUEST_INVALID", `body.grants.${key} is not a known key; remove it or check its spelling`, { path: `body.grants.${key}` });
    }
  }
}

function ownKeys(value: unknown): string[] {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
}

const logsQuery = v.strictObject({
  limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/), v.transform(Number), v.minValue(1), v.maxValue(500)), "100"),
});

/**
 * Returns a path parameter, percent-decoded, since the router leaves parameters
 * as they appear in the URL (`%5E1.0.0` for `^1.0.0`). Raises `ERR_REQUEST_INVALID`.
 */
export function pathParam(request: IRequest, name: string): string {
  const raw = request.params[name] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BerthError("ERR_REQUEST_INVALID", `params.${name} is not valid percent-encoding`, { path: `params.${name}` });
  }
}

/** Returns who sent a request; set by the API's authentication step. */
export function principalOf(request: IRequest): Principal {
  const principal = request["principal"] as Principal | undefined;
  if (principal === undefined) throw new BerthError("ERR_AUTH_REQUIRED", "send Authorization: Bearer <token>");
  return principal;
}

/**
 * Returns the validated tenant ID of a request's `:tenant` parameter, after
 * checking that the caller may act on that tenant. Raises `ERR_REQUEST_INVALID`
 * or `ERR_AUTH_FORBIDDEN`.
 */
export function tenantParam(request: IRequest): string {
  const tenant = parseInput(tenantSchema, pathParam(request, "tenant"), "params.tenant");
  requireTenant(principalOf(request), tenant);
  return tenant;
}

/**
 * Creates the host Worker's `fetch` handler. Every error becomes a coded JSON
 * response; an unexpected one is logged and answered with `ERR_INTERNAL`.
 */
export function createApi(host: Host, options: ApiOptions = {}): ExportedHandler<BerthEnv> {
  // Every route but health needs a bearer token; unknown paths too, so they reveal nothing.
  const authenticate = async (request: IRequest, env: BerthEnv) => {
    if (new URL(request.url).pathname === "/v1/health") return;
    request["principal"] = await host.authenticate(env, request as unknown as Request);
  };
  const router: ApiRouter = Router({ base: "/v1", before: [authenticate], catch: errorResponse });

  router.get("/health", () =>
    jsonResponse({
      name: "berth",
      version: host.version,
      runtime: { maxCompatibilityDate: host.maxCompatibilityDate },
      hookPoints: host.hookPoints.size,
      capabilities: host.capabilities.size,
    }),
  );

  router.get("/hook-points", () =>
    jsonResponse({
      hookPoints: [...host.hookPoints.values()].map((point) => ({
        name: point.name,
        kind: point.kind,
        description: point.description,
        timeoutMs: point.timeoutMs,
        errorPolicy: point.errorPolicy,
        payload: jsonSchema(point.payload),
        ...(point.kind === "collect" ? { item: jsonSchema(point.item) } : {}),
      })),
    }),
  );

  router.get("/capabilities", () =>
    jsonResponse({
      capabilities: [...host.capabilities.values()].map((capability) => ({
        name: capability.name,
        description: capability.description,
        takesHosts: capability.takesHosts === true,
        options: capability.options ?? null,
        binding: capability.entrypoint === undefined ? null : capability.binding ?? capability.name.toUpperCase().replace(/[^A-Z0-9]/g, "_"),
      })),
    }),
  );

  router.get("/plugins", async (_request, env) => jsonResponse({ plugins: await registryStub(env).list() }));

  router.post("/plugins", async (request, env) => {
    requireRole(principalOf(request), "operator", "publisher");
    const body = await readJson(request, LIMITS.packageBytes);
    const { record, created, refreshed } = await publishPackage(body, host, env);
    return jsonResponse({ published: { name: record.name, version: record.version, digest: record.digest, created, refreshed } }, created ? 201 : 200);
  });

  router.get("/plugins/:name/:version", async (request, env) => {
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    const version = parseInput(versionOrRange, pathParam(request, "version"), "params.version");
    const record = unwrap(await registryStub(env).resolve(name, version));
    const yanked = record.yanked === null ? null : { reason: record.yanked.reason, at: new Date(record.yanked.at).toISOString() };
    return jsonResponse({ name: record.name, version: record.version, digest: record.digest, kid: record.kid, publishedAt: new Date(record.publishedAt).toISOString(), yanked, manifest: record.manifest });
  });

  router.get("/tenants/:tenant/installations", async (request, env) => {
    const tenant = tenantParam(request);
    return jsonResponse({ installations: await tenantStub(env, tenant).listInstallations() });
  });

  router.post("/tenants/:tenant/installations", async (request, env) => {
    const tenant = tenantParam(request);
    const input = await readJson(request, MAX_BODY_BYTES);
    rejectPrototypeKeys(input);
    const body = parseInput(installBody, input, "body");
    const pkg = await resolvePackage(env, host, body.name, body.version);
    const view = unwrap(await tenantStub(env, tenant).install(tenant, { package: pkg, grants: body.grants, config: body.config, enable: body.enable }));
    return jsonResponse({ installation: view }, 201);
  });

  router.get("/tenants/:tenant/installations/:name", async (request, env) => {
    const tenant = tenantParam(request);
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    return jsonResponse({ installation: unwrap(await tenantStub(env, tenant).getInstallation(name)) });
  });

  router.patch("/tenants/:tenant/installations/:name", async (request, env) => {
    const tenant = tenantParam(request);
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    const input = await readJson(request, MAX_BODY_BYTES);
    rejectPrototypeKeys(input);
    const body = parseInput(patchBody, input, "body");

    const change: InstallationChange = {};
    if (body.version !== undefined) change.package = await resolvePackage(env, host, name, body.version);
    if (body.downgrade !== undefined) change.downgrade = body.downgrade;
    change.actor = principalOf(request).sub;
    if (body.grants !== undefined) change.grants = body.grants;
    if (body.config !== undefined) change.config = body.config;
    if (body.state !== undefined) change.state = body.state;
    if (body.consent !== undefined) change.consent = body.consent;
    return jsonResponse({ installation: unwrap(await tenantStub(env, tenant).updateInstallation(name, change)) });
  });

  router.delete("/tenants/:tenant/installations/:name", async (request, env) => {
    const tenant = tenantParam(request);
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    return jsonResponse({ uninstalled: unwrap(await tenantStub(env, tenant).uninstall(name)) });
  });

  router.get("/tenants/:tenant/installations/:name/logs", async (request, env) => {
    const tenant = tenantParam(request);
    const name = parseInput(nameSchema, pathParam(request, "name"), "params.name");
    const { limit } = parseInput(logsQuery, { ...request.query }, "query");
    return jsonResponse({ logs: unwrap(await tenantStub(env, tenant).readLogs(name, limit)) });
  });

  registerTrustRoutes(router, host);
  options.extend?.(router);

  router.all("*", (request) => {
    throw new BerthError("ERR_ROUTE_NOT_FOUND", `no route for ${request.method} ${new URL(request.url).pathname}; see docs/api.md`);
  });

  return {
    async fetch(request, env, ctx) {
      // A HEAD request gets the response GET would get, without the body (RFC 9110, section 9.3.2).
      const head = request.method === "HEAD";
      const routed = head ? new Request(request, { method: "GET" }) : request;

      let response: Response;
      try {
        // Paths outside /v1 match no route at all, so the router resolves to undefined.
        const answer = (await router.fetch(routed, env, ctx)) as Response | undefined;
        response = answer ?? errorResponse(new BerthError("ERR_ROUTE_NOT_FOUND", `no route for ${request.method} ${new URL(request.url).pathname}; every route is under /v1, see docs/api.md`));
      } catch (error) {
        response = errorResponse(error);
      }
      return head ? new Response(null, { status: response.status, headers: response.headers }) : response;
    },
  };
}

function jsonSchema(schema: AnySchema): unknown {
  // Checks written as functions have no JSON Schema form; the schema then omits them.
  return toJsonSchema(schema, { errorMode: "ignore" });
}
