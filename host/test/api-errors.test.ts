import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { MAX_BODY_BYTES } from "../src/framework/index.ts";
import { api, createTicket, install, pluginSource, publishPlugin, uniqueTenant, type ApiResponse, mintToken } from "./helpers/api.ts";

interface ErrorCase {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
  code: string;
  /** Expected `error.path`, or undefined when the error names no field. */
  field?: string;
  /** A part the message must contain. */
  mentions?: string;
}

const TENANT = uniqueTenant("api-errors");

const CASES: ErrorCase[] = [
  { name: "malformed JSON", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: "{not json", status: 400, code: "ERR_REQUEST_NOT_JSON", field: "body" },
  { name: "an empty body", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: "", status: 400, code: "ERR_REQUEST_NOT_JSON", field: "body" },
  { name: "a JSON number body", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: "42", status: 400, code: "ERR_REQUEST_INVALID", field: "body" },
  { name: "a JSON null body", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: "null", status: 400, code: "ERR_REQUEST_INVALID", field: "body" },
  {
    name: "an unknown key on install",
    method: "POST",
    path: `/v1/tenants/${TENANT}/installations`,
    body: { name: "api-plugin", permissions: ["all"] },
    status: 400,
    code: "ERR_REQUEST_INVALID",
    field: "body.permissions",
    mentions: "permissions",
  },
  {
    name: "a __proto__ key on install",
    method: "POST",
    path: `/v1/tenants/${TENANT}/installations`,
    body: '{"name":"api-plugin","__proto__":{"admin":true}}',
    status: 400,
    code: "ERR_REQUEST_INVALID",
    field: "body.__proto__",
  },
  { name: "a missing plugin name", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: {}, status: 400, code: "ERR_REQUEST_INVALID", field: "body.name" },
  {
    name: "grant hosts that are not a list",
    method: "POST",
    path: `/v1/tenants/${TENANT}/installations`,
    body: { name: "api-plugin", grants: { network: { hosts: "a.example.test" } } },
    status: 400,
    code: "ERR_REQUEST_INVALID",
    field: "body.grants.network.hosts",
  },
  { name: "a bad tenant ID", method: "GET", path: "/v1/tenants/Not_A_Tenant/installations", status: 400, code: "ERR_REQUEST_INVALID", field: "params.tenant", mentions: "Not_A_Tenant" },
  { name: "a tenant ID over 64 characters", method: "GET", path: `/v1/tenants/${"t".repeat(65)}/installations`, status: 400, code: "ERR_REQUEST_INVALID", field: "params.tenant" },
  { name: "an encoded slash in the tenant ID", method: "GET", path: "/v1/tenants/a%2Fb/installations", status: 400, code: "ERR_REQUEST_INVALID", field: "params.tenant" },
  { name: "a bad plugin name", method: "GET", path: `/v1/tenants/${TENANT}/installations/Bad_Name`, status: 400, code: "ERR_REQUEST_INVALID", field: "params.name" },
  { name: "the bare API prefix", method: "GET", path: "/v1", status: 404, code: "ERR_ROUTE_NOT_FOUND" },
  { name: "an unknown route", method: "GET", path: "/v1/nowhere", status: 404, code: "ERR_ROUTE_NOT_FOUND", mentions: "/v1/nowhere" },
  { name: "an unknown method", method: "PUT", path: "/v1/health", status: 404, code: "ERR_ROUTE_NOT_FOUND", mentions: "PUT" },
  { name: "an empty PATCH", method: "PATCH", path: `/v1/tenants/${TENANT}/installations/api-plugin`, body: {}, status: 400, code: "ERR_REQUEST_INVALID", field: "body" },
  {
    name: "an unknown state",
    method: "PATCH",
    path: `/v1/tenants/${TENANT}/installations/api-plugin`,
    body: { state: "paused" },
    status: 400,
    code: "ERR_REQUEST_INVALID",
    field: "body.state",
  },
  { name: "a log limit of 0", method: "GET", path: `/v1/tenants/${TENANT}/installations/api-plugin/logs?limit=0`, status: 400, code: "ERR_REQUEST_INVALID", field: "query.limit" },
  { name: "a repeated query key", method: "GET", path: `/v1/tenants/${TENANT}/installations/api-plugin/logs?limit=1&limit=2`, status: 400, code: "ERR_REQUEST_INVALID", field: "query.limit" },
  { name: "an unknown query key", method: "GET", path: `/v1/tenants/${TENANT}/installations/api-plugin/logs?verbose=1`, status: 400, code: "ERR_REQUEST_INVALID", field: "query.verbose" },
  { name: "a ticket ID that is not a UUID", method: "GET", path: `/v1/tenants/${TENANT}/tickets/not-a-uuid`, status: 400, code: "ERR_REQUEST_INVALID", field: "params.id" },
  { name: "an unknown ticket", method: "GET", path: `/v1/tenants/${TENANT}/tickets/${crypto.randomUUID()}`, status: 404, code: "ERR_NOT_FOUND", field: "params.id" },
  { name: "an empty ticket title", method: "POST", path: `/v1/tenants/${TENANT}/tickets`, body: { title: "   " }, status: 400, code: "ERR_REQUEST_INVALID", field: "body.title" },
  { name: "an unknown plugin", method: "POST", path: `/v1/tenants/${TENANT}/installations`, body: { name: "never-published" }, status: 404, code: "ERR_PLUGIN_NOT_FOUND", field: "name" },
  {
    name: "a version range that matches nothing",
    method: "POST",
    path: `/v1/tenants/${TENANT}/installations`,
    body: { name: "api-plugin", version: "^9.0.0" },
    status: 404,
    code: "ERR_PLUGIN_NOT_FOUND",
    field: "version",
  },
  {
    name: "a config key the manifest does not declare",
    method: "POST",
    path: `/v1/tenants/${TENANT}/installations`,
    body: { name: "api-plugin", config: { colour: "red" } },
    status: 400,
    code: "ERR_CONFIG_INVALID",
    field: "config.colour",
  },
  { name: "an installation that does not exist", method: "GET", path: `/v1/tenants/${TENANT}/installations/api-plugin`, status: 404, code: "ERR_INSTALLATION_NOT_FOUND", field: "name" },
];

describe("API errors", () => {
  beforeAll(async () => {
    await publishPlugin({ name: "api-plugin", source: pluginSource({}) });
  });

  it.each(CASES)("answers $name with $status $code", async (testCase) => {
    const response = await api(testCase.method, testCase.path, testCase.body);

    expect(response.status).toBe(testCase.status);
    expect(response.body.error.code).toBe(testCase.code);
    expect(response.body.error.path).toBe(testCase.field);
    expect(response.body.error.message).toEqual(expect.any(String));
    if (testCase.mentions !== undefined) expect(response.body.error.message).toContain(testCase.mentions);
  });

  // The router matches only under /v1; other paths must still get a coded 404.
  it.each(["/", "/health", "/v2/health"])("answers %s outside /v1 with a coded 404", async (path) => {
    const response = await api("GET", path);

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("ERR_ROUTE_NOT_FOUND");
  });
});

describe("request body limit", () => {
  const oversized = JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES) });

  /** Sends `body` to the install route without the `api` helper, and parses the response. */
  async function send(body: BodyInit): Promise<ApiResponse> {
    const headers = { authorization: `Bearer ${await mintToken({ role: "operator" })}` };
    const request = new Request(`http://host.test/v1/tenants/${TENANT}/installations`, { method: "POST", body, headers });
    const response = await exports.default.fetch(request);
    return { status: response.status, body: await response.json() };
  }

  it("rejects a body over the limit with 413", async () => {
    const response = await send(oversized);

    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("ERR_REQUEST_TOO_LARGE");
    expect(response.body.error.message).toContain(String(MAX_BODY_BYTES));
  });

  it("rejects a streamed body over the limit without a length", async () => {
    const bytes = new TextEncoder().encode(oversized);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // Several chunks, so the limit is crossed while reading.
        for (let offset = 0; offset < bytes.byteLength; offset += 16 * 1024) controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        controller.close();
      },
    });

    const response = await send(stream);

    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("ERR_REQUEST_TOO_LARGE");
  });

  it("accepts a ticket body just under the limit", async () => {
    const tenant = uniqueTenant("api-limit");
    const body = "b".repeat(5_000);

    const created = await createTicket(tenant, { title: "Long body", body });

    expect(created.status).toBe(201);
    expect(created.body.ticket.body).toBe(body);
  });

  it("rejects a body that is not UTF-8", async () => {
    const response = await send(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_REQUEST_NOT_JSON");
  });
});

describe("installation routes", () => {
  it("second install returns 409", async () => {
    const tenant = uniqueTenant("api-twice");
    await install(tenant, { name: "api-plugin" });

    const again = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "api-plugin" });

    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ERR_INSTALLATION_EXISTS");
    expect(again.body.error.path).toBe("name");
  });
});

describe("HEAD requests", () => {
  it("answers health like GET without a body", async () => {
    const response = await exports.default.fetch(new Request("http://host.test/v1/health", { method: "HEAD" }));

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.text()).toBe("");
  });

  it("still needs a token on other routes", async () => {
    const response = await exports.default.fetch(new Request("http://host.test/v1/plugins", { method: "HEAD" }));

    expect(response.status).toBe(401);
    expect(await response.text()).toBe("");
  });
});
