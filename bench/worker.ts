/**
 * The bench Worker: the demo help desk host (same Durable Objects, entrypoints
 * and `/v1` API) plus bench-only routes under `/bench/` that run timed batches
 * inside the runtime and return the numbers as JSON. `scripts/bench.mjs` starts
 * it with `wrangler dev` on loopback and drives it; it is never deployed.
 *
 * @module
 */
import { sha256Hex, signManifest, type Manifest, type SigningKey } from "@berth/plugin-sdk/package";
import * as v from "valibot";

// Development-only key, committed on purpose: the demo host trusts its public half.
import developmentKey from "../manifests/keys/berth-dev.DEVELOPMENT-ONLY.private.json";
import demo from "../host/src/demo/worker.ts";
import type { BerthEnv } from "../host/src/framework/index.ts";
import type { BenchTenant } from "./bench-tenant.ts";
import { probeClock, timeSpan } from "./clock.ts";
import { benchManifest, pluginModuleSource } from "./fixtures.ts";

export * from "../host/src/demo/worker.ts";
export { BenchTenant } from "./bench-tenant.ts";

/** Most packages, installations or cold loads one bench request may ask for. */
const MAX_ITEMS = 2_000;

const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max));
const tenant = v.pipe(v.string(), v.regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "must be a tenant ID"));
const pluginName = v.pipe(v.string(), v.regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, "must be a plugin name"));

const packageSpec = v.strictObject({
  name: pluginName,
  version: v.pipe(v.string(), v.maxLength(64)),
  paddingBytes: count(400_000),
  subscriptions: v.picklist(["both", "none"]),
  lifecycle: v.boolean(),
  nonce: v.pipe(v.string(), v.maxLength(100)),
});

const publishBody = v.strictObject({ packages: v.pipe(v.array(packageSpec), v.maxLength(MAX_ITEMS)), timed: v.boolean() });
const installBody = v.strictObject({
  tenant,
  names: v.pipe(v.array(pluginName), v.maxLength(MAX_ITEMS)),
  version: v.pipe(v.string(), v.maxLength(64)),
  timed: v.boolean(),
});
const batchBody = v.strictObject({
  tenant,
  hook: v.picklist(["ticket.beforeCreate", "ticket.created"]),
  batches: count(500),
  targetMs: v.pipe(v.number(), v.minValue(1), v.maxValue(2_000)),
  warmup: count(1_000),
  batchSize: v.optional(v.pipe(count(5_000), v.minValue(1))),
});
const coldBody = v.strictObject({
  tenant,
  packages: v.pipe(v.array(v.strictObject({ name: pluginName, version: v.pipe(v.string(), v.maxLength(64)) })), v.maxLength(MAX_ITEMS)),
  mode: v.picklist(["framework", "runtime"]),
});
const loadBody = v.strictObject({ tenant, offset: count(100_000), count: count(MAX_ITEMS) });
const tenantBody = v.strictObject({ tenant });

/** A bench route; `authorization` is the request's header, passed on to the host API calls it makes. */
type Handler = (body: unknown, env: BerthEnv, ctx: ExecutionContext, authorization: string | null) => Promise<unknown>;

const routes: Record<string, Handler> = {
  "/bench/clock": async () => probeClock(),

  "/bench/publish": async (body, env, ctx, authorization) => {
    const request = parse(publishBody, body);
    const ms: number[] = [];
    for (const spec of request.packages) {
      const pkg = await signedPackage(spec);
      const send = () => callApi(env, ctx, authorization, "POST", "/v1/plugins", pkg, [200, 201]);
      if (request.timed) ms.push(await timeSpan(send));
      else await send();
    }
    return { published: request.packages.length, ms };
  },

  "/bench/install": async (body, env, ctx, authorization) => {
    const request = parse(installBody, body);
    const ms: number[] = [];
    for (const name of request.names) {
      const send = () => callApi(env, ctx, authorization, "POST", `/v1/tenants/${request.tenant}/installations`, { name, version: request.version }, [201]);
      if (request.timed) ms.push(await timeSpan(send));
      else await send();
    }
    return { installed: request.names.length, ms };
  },

  "/bench/compare-warm": async (body, env) => {
    const { tenant: id, ...request } = parse(batchBody, body);
    return tenantStub(env, id).compareWarm(request);
  },

  "/bench/dispatch-breakdown": async (body, env) => {
    const { tenant: id, ...request } = parse(batchBody, body);
    return tenantStub(env, id).dispatchBreakdown(request);
  },

  "/bench/dispatch-batches": async (body, env) => {
    const { tenant: id, ...request } = parse(batchBody, body);
    return tenantStub(env, id).dispatchBatches(request);
  },

  "/bench/cold-loads": async (body, env) => {
    const request = parse(coldBody, body);
    return tenantStub(env, request.tenant).coldLoads(request.tenant, request.packages, request.mode);
  },

  "/bench/load-installed": async (body, env) => {
    const request = parse(loadBody, body);
    return tenantStub(env, request.tenant).loadInstalled(request.offset, request.count);
  },

  "/bench/installation-count": async (body, env) => {
    const request = parse(tenantBody, body);
    return { installations: await tenantStub(env, request.tenant).installationCount() };
  },
};

export default {
  async fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    if (!path.startsWith("/bench/")) return demo.fetch!(request as Parameters<NonNullable<typeof demo.fetch>>[0], env, ctx);

    const handler = routes[path];
    if (handler === undefined) return Response.json({ error: { message: `no bench route ${path}; see bench/worker.ts` } }, { status: 404 });
    if (request.method !== "POST") return Response.json({ error: { message: `${path} takes POST with a JSON body` } }, { status: 405 });
    try {
      return Response.json(await handler(await request.json(), env, ctx, request.headers.get("authorization")));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`bench route ${path} failed: ${message}`);
      return Response.json({ error: { message } }, { status: error instanceof BenchInputError ? 400 : 500 });
    }
  },
} satisfies ExportedHandler<BerthEnv>;

/** Invalid input to a bench route. */
class BenchInputError extends Error {}

function parse<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new BenchInputError(`invalid bench request at ${issue === undefined ? "body" : (v.getDotPath(issue) ?? "body")}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.output;
}

function tenantStub(env: BerthEnv, id: string): DurableObjectStub<BenchTenant> {
  const namespace = env.TENANTS as unknown as DurableObjectNamespace<BenchTenant>;
  return namespace.get(namespace.idFromName(id));
}

/** Builds and signs a bench package with the development key. */
async function signedPackage(spec: v.InferOutput<typeof packageSpec>): Promise<{ manifest: string; modules: Record<string, string> }> {
  const source = pluginModuleSource({ paddingBytes: spec.paddingBytes, nonce: spec.nonce });
  const manifest = benchManifest({
    name: spec.name,
    version: spec.version,
    sha256: await sha256Hex(source),
    size: new TextEncoder().encode(source).byteLength,
    subscriptions: spec.subscriptions,
    lifecycle: spec.lifecycle,
  });
  const token = await signManifest(manifest as Manifest, developmentKey as SigningKey);
  return { manifest: token, modules: { "index.js": source } };
}

/**
 * Calls the host's own `/v1` API in this isolate, without a socket, with the
 * bench request's `Authorization` header, and raises unless the status is one
 * of `expected`.
 */
async function callApi(
  env: BerthEnv,
  ctx: ExecutionContext,
  authorization: string | null,
  method: string,
  path: string,
  body: unknown,
  expected: number[],
): Promise<unknown> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== null) headers["authorization"] = authorization;
  const request = new Request(`http://bench.local${path}`, { method, headers, body: JSON.stringify(body) });
  const response = await demo.fetch!(request as Parameters<NonNullable<typeof demo.fetch>>[0], env, ctx);
  const json = (await response.json()) as { error?: { code: string; message: string } };
  if (!expected.includes(response.status)) {
    throw new Error(`${method} ${path} returned ${response.status}: ${json.error?.code ?? ""} ${json.error?.message ?? ""}`);
  }
  return json;
}
