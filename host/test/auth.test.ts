/// <reference types="vite/client" />
/**
 * Authentication and tenant isolation of every route: a table lists each route the
 * host registers, and the same checks run against all of them. Adding a route
 * without adding a row fails the first test.
 */
import { env, exports } from "cloudflare:workers";
import { SignJWT, exportJWK, generateKeyPair, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, hook, install, makePackage, mintToken, pluginSource, publishPlugin, readInbox, uniqueTenant, type ApiResponse } from "./helpers/api.ts";

/**
 * Who may call a route: anyone, any valid token, publishers and operators,
 * operators only, or the tenant's admin and operators.
 */
type Scope = "public" | "any-role" | "publish" | "operator" | "tenant";

interface RouteCase {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** The path as registered, with `:tenant`, `:name`, `:version` and `:id` parameters. */
  path: string;
  scope: Scope;
  /** A body that would succeed for an authorized caller. */
  body?: () => unknown;
}

const PLUGIN = "auth-plugin";

// Filled in by beforeAll: a package the publish route would accept.
let publishable: unknown;

const ROUTES: RouteCase[] = [
  { method: "GET", path: "/v1/health", scope: "public" },
  { method: "GET", path: "/v1/hook-points", scope: "any-role" },
  { method: "GET", path: "/v1/capabilities", scope: "any-role" },
  { method: "GET", path: "/v1/plugins", scope: "any-role" },
  { method: "POST", path: "/v1/plugins", scope: "publish", body: () => publishable },
  { method: "GET", path: "/v1/plugins/:name/:version", scope: "any-role" },
  { method: "POST", path: "/v1/plugins/:name/:version/yank", scope: "operator", body: () => ({ reason: "yanked by a test" }) },
  { method: "GET", path: "/v1/trust/keys", scope: "operator" },
  { method: "GET", path: "/v1/trust/publishers", scope: "operator" },
  { method: "POST", path: "/v1/trust/keys", scope: "operator", body: () => ({ kid: "auth-test-key" }) },
  { method: "POST", path: "/v1/trust/keys/:kid/retire", scope: "operator", body: () => ({}) },
  { method: "POST", path: "/v1/trust/keys/:kid/revoke", scope: "operator", body: () => ({ reason: "revoked by a test" }) },
  { method: "GET", path: "/v1/tenants/:tenant/installations", scope: "tenant" },
  { method: "POST", path: "/v1/tenants/:tenant/installations", scope: "tenant", body: () => ({ name: PLUGIN }) },
  { method: "GET", path: "/v1/tenants/:tenant/installations/:name", scope: "tenant" },
  { method: "PATCH", path: "/v1/tenants/:tenant/installations/:name", scope: "tenant", body: () => ({ state: "disabled" }) },
  { method: "DELETE", path: "/v1/tenants/:tenant/installations/:name", scope: "tenant" },
  { method: "GET", path: "/v1/tenants/:tenant/installations/:name/logs", scope: "tenant" },
  { method: "GET", path: "/v1/tenants/:tenant/tickets", scope: "tenant" },
  { method: "POST", path: "/v1/tenants/:tenant/tickets", scope: "tenant", body: () => ({ title: "Planted by another tenant" }) },
  { method: "GET", path: "/v1/tenants/:tenant/tickets/:id", scope: "tenant" },
  { method: "POST", path: "/v1/tenants/:tenant/tickets/:id/close", scope: "tenant", body: () => ({ reason: "closed by another tenant" }) },
  { method: "GET", path: "/v1/tenants/:tenant/inbox", scope: "tenant" },
];

/**
 * Returns every route registered in the host's source, as `METHOD /v1/path`, by
 * reading the `router.<method>("<path>"` calls of every source file.
 */
function registeredRoutes(): string[] {
  const sources = import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
  const routes: string[] = [];
  for (const source of Object.values(sources)) {
    for (const match of source.matchAll(/router\.(get|post|patch|put|delete)\(\s*"([^"]+)"/g)) {
      routes.push(`${(match[1] as string).toUpperCase()} /v1${match[2] as string}`);
    }
  }
  return routes.sort();
}

const tenantA = uniqueTenant("auth-a");
const tenantB = uniqueTenant("auth-b");
let ticketB: string;
let adminA: string;

/** Returns the route's path with tenant B's resources filled in. */
function pathFor(route: RouteCase, tenant = tenantB): string {
  return route.path
    .replace(":tenant", tenant)
    .replace(":name", PLUGIN)
    .replace(":version", "1.0.0")
    .replace(":id", ticketB)
    .replace(":kid", "auth-test-key");
}

/** Sends a route's request with `token`, or none when it is null. */
function send(route: RouteCase, token: string | null, tenant = tenantB): Promise<ApiResponse> {
  return api(route.method, pathFor(route, tenant), route.body?.(), { token });
}

/** Returns the response body as text, to search for values that must not appear. */
function text(response: ApiResponse): string {
  return JSON.stringify(response.body);
}

beforeAll(async () => {
  await publishPlugin({ name: PLUGIN, source: pluginSource({ Hooks: "async tag(draft) { return draft; }" }), hooks: { "ticket.beforeCreate": hook("tag") } });
  publishable = await makePackage({ name: "auth-published", source: pluginSource({}) });
  await install(tenantA, { name: PLUGIN });
  await install(tenantB, { name: PLUGIN });
  ticketB = (await createTicket(tenantB, { title: "Ticket of tenant B" })).body.ticket.id;
  adminA = await mintToken({ role: "tenant-admin", tenant: tenantA });
});

describe("route table", () => {
  it("lists every route the host registers", () => {
    const listed = ROUTES.map((route) => `${route.method} ${route.path}`).sort();

    // A new route needs a row in ROUTES, with its scope.
    expect(listed).toEqual(registeredRoutes());
  });
});

describe("request without a token", () => {
  it.each(ROUTES.filter((route) => route.scope !== "public"))("gets 401 on $method $path", async (route) => {
    const response = await send(route, null);

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("ERR_AUTH_REQUIRED");
  });

  it("gets 401 on an unknown route", async () => {
    const response = await api("GET", "/v1/nowhere", undefined, { token: null });

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("ERR_AUTH_REQUIRED");
  });

  it("gets the health report", async () => {
    const response = await api("GET", "/v1/health", undefined, { token: null });

    expect(response.status).toBe(200);
    expect(response.body.name).toBe("berth");
  });
});

describe("tenant A's admin on tenant B", () => {
  it.each(ROUTES.filter((route) => route.scope === "tenant"))("is refused on $method $path", async (route) => {
    const response = await send(route, adminA);

    expect([403, 404]).toContain(response.status);
    expect(response.body.error.code).toMatch(/^ERR_AUTH_FORBIDDEN$|_NOT_FOUND$/);
    expect(text(response)).not.toContain("Ticket of tenant B");
    expect(text(response)).not.toContain(adminA);
  });

  it("is refused on tenant B written with percent-encoding", async () => {
    const encoded = [...tenantB].map((character) => `%${character.charCodeAt(0).toString(16)}`).join("");

    const response = await api("GET", `/v1/tenants/${encoded}/installations`, undefined, { token: adminA });

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
  });

  it("leaves tenant B as it was", async () => {
    const installation = await api("GET", `/v1/tenants/${tenantB}/installations/${PLUGIN}`);
    const tickets = await api("GET", `/v1/tenants/${tenantB}/tickets`);

    expect(installation.body.installation).toMatchObject({ state: "enabled", revision: 1 });
    expect(tickets.body.tickets.map((ticket: { title: string; status: string }) => [ticket.title, ticket.status])).toEqual([["Ticket of tenant B", "open"]]);
    expect(await readInbox(tenantB)).toEqual([]);
  });

  it.each(ROUTES.filter((route) => route.scope === "tenant" && route.method === "GET"))("is allowed on its own tenant: $method $path", async (route) => {
    const ownTicket = route.path.includes(":id") ? (await createTicket(tenantA, { title: "Ticket of tenant A" })).body.ticket.id : "";

    const response = await api(route.method, pathFor(route, tenantA).replace(ticketB, ownTicket), undefined, { token: adminA });

    expect(response.status).toBe(200);
    expect(text(response)).not.toContain("Ticket of tenant B");
  });
});

describe("roles", () => {
  it.each(ROUTES.filter((route) => route.scope === "any-role"))("let a tenant admin read $path", async (route) => {
    const response = await send(route, adminA);

    expect(response.status).toBe(200);
  });

  it("refuse a tenant admin publishing", async () => {
    const response = await api("POST", "/v1/plugins", await makePackage({ name: "auth-admin-publish", source: pluginSource({}) }), { token: adminA });
    const lookup = await api("GET", "/v1/plugins/auth-admin-publish/1.0.0");

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
    expect(lookup.status).toBe(404);
  });

  it("let a publisher publish", async () => {
    const publisher = await mintToken({ role: "publisher" });

    const response = await api("POST", "/v1/plugins", await makePackage({ name: "auth-publisher", source: pluginSource({}) }), { token: publisher });

    expect(response.status).toBe(201);
  });

  it.each(ROUTES.filter((route) => route.scope === "operator"))("refuse a tenant admin on $method $path", async (route) => {
    const response = await send(route, adminA);

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
  });

  it.each(ROUTES.filter((route) => route.scope === "operator"))("refuse a publisher on $method $path", async (route) => {
    const publisher = await mintToken({ role: "publisher" });

    const response = await send(route, publisher);

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
  });

  it.each(ROUTES.filter((route) => route.scope === "tenant"))("refuse a publisher on $method $path", async (route) => {
    const publisher = await mintToken({ role: "publisher" });

    const response = await send(route, publisher);

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
  });
});

/** Returns base64url of a JSON value. */
function base64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Signs claims with a fresh Ed25519 key that carries `kid`; the host does not trust it. */
async function foreignToken(kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair("Ed25519", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid };
  return mintToken({ role: "operator" }, { key: jwk });
}

const devKid = String(env.TEST_AUTH_KEY.kid);
const now = () => Math.floor(Date.now() / 1000);

const BAD_TOKENS: [string, () => Promise<string>][] = [
  ["an expired token", () => mintToken({ role: "operator" }, { expiresIn: "-1m" })],
  ["a token signed by another key with the trusted key ID", () => foreignToken(devKid)],
  ["a token signed by an unknown key", () => foreignToken("someone-else")],
  ["an unsigned token", async () => `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ iss: "berth", aud: "berth-api", sub: "x", role: "operator", exp: now() + 600 })}.`],
  [
    "an HS256 token keyed with the public key",
    async () =>
      new SignJWT({ role: "operator" })
        .setProtectedHeader({ alg: "HS256", kid: devKid })
        .setIssuer("berth")
        .setAudience("berth-api")
        .setSubject("x")
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(String(env.TEST_AUTH_KEY.x))),
  ],
  ["a token for another audience", async () => signWithDevKey({ role: "operator" }, { audience: "other-api" })],
  ["a token without an expiry", async () => signWithDevKey({ role: "operator" }, { expires: false })],
  ["a token with an unknown role", async () => signWithDevKey({ role: "root" })],
  ["a tenant-admin token without a tenant", async () => signWithDevKey({ role: "tenant-admin" })],
];

/** Signs claims with the trusted development key, varying the audience or leaving out `exp`. */
async function signWithDevKey(claims: Record<string, unknown>, options: { audience?: string; expires?: boolean } = {}): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "Ed25519", kid: devKid })
    .setIssuer("berth")
    .setAudience(options.audience ?? "berth-api")
    .setSubject("test-bad-claims");
  if (options.expires !== false) jwt = jwt.setExpirationTime("1h");
  return jwt.sign(await importJWK(env.TEST_AUTH_KEY, "Ed25519"));
}

describe("invalid credentials", () => {
  it.each(BAD_TOKENS)("reject %s with 401", async (_case, makeToken) => {
    const token = await makeToken();

    const response = await api("GET", `/v1/tenants/${tenantB}/installations`, undefined, { token });

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("ERR_AUTH_INVALID");
    expect(text(response)).not.toContain(token);
  });

  // The third column is the credential part of the header, which the response must not repeat.
  it.each([
    ["a Basic header", "Basic b3BlcmF0b3I6c2VjcmV0", "b3BlcmF0b3I6c2VjcmV0"],
    ["a bearer value that is not a JWT", "Bearer not a token", "not a token"],
    ["an empty bearer value", "Bearer ", null],
    ["a header over 4096 characters", `Bearer ${"a".repeat(4_100)}`, "a".repeat(40)],
  ])("reject %s with 401", async (_case, header, credential) => {
    const response = await fetchWithHeader(header);

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe("ERR_AUTH_INVALID");
    if (credential !== null) expect(text(response)).not.toContain(credential);
  });
});

/** Sends GET installations of tenant B with a raw Authorization header. */
async function fetchWithHeader(header: string): Promise<ApiResponse> {
  const response = await exports.default.fetch(
    new Request(`http://host.test/v1/tenants/${tenantB}/installations`, { headers: { authorization: header } }),
  );
  return { status: response.status, body: await response.json() };
}

describe("responses to a valid token", () => {
  it.each(ROUTES.filter((route) => route.scope === "tenant" && route.method === "GET"))("never contain it: $method $path", async (route) => {
    const operator = await mintToken({ role: "operator" });

    const response = await send(route, operator);

    expect(response.status).toBe(200);
    expect(text(response)).not.toContain(operator);
  });
});
