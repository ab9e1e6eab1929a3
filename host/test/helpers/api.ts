/**
 * Test helpers that go through the host's real `fetch` entry and sign real
 * packages with the test publisher's key.
 */
import { env, exports } from "cloudflare:workers";

import { sha256Hex, signManifest, type ManifestInput, type SigningKey } from "../../../plugin-sdk/src/package/index.ts";

/** A response's status and parsed JSON body. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** Sends a request to the host Worker and parses the JSON answer. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const response = await exports.default.fetch(new Request(`http://host.test${path}`, init));
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

let counter = 0;

/** Returns a tenant ID no other test uses. */
export function uniqueTenant(label = "tenant"): string {
  counter += 1;
  return `${label}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Options of {@link makePackage}; manifest fields override the defaults. */
export interface PackageOptions extends Partial<ManifestInput> {
  /** The module source of `index.js`. */
  source: string;
  /** Signing key; the trusted test key by default. */
  key?: SigningKey;
  /** Module sources sent in the package; defaults to `{ "index.js": source }`. */
  modules?: Record<string, string>;
}

/** Builds and signs a package for publisher `berth-test` with one module, `index.js`. */
export async function makePackage(options: PackageOptions): Promise<{ manifest: string; modules: Record<string, string> }> {
  const { source, key, modules, ...overrides } = options;
  const manifest = {
    name: "test-plugin",
    version: "1.0.0",
    publisher: "berth-test",
    hostRange: "^0.1.0",
    compatibilityDate: "2026-11-01",
    main: "index.js",
    modules: { "index.js": { sha256: await sha256Hex(source), size: new TextEncoder().encode(source).byteLength } },
    ...overrides,
  };
  const token = await signManifest(manifest as never, key ?? env.TEST_SIGNING_KEY);
  return { manifest: token, modules: modules ?? { "index.js": source } };
}

/** Publishes a package and fails the test unless the host accepts it. */
export async function publish(pkg: unknown): Promise<void> {
  const response = await api("POST", "/v1/plugins", pkg);
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`publish failed with ${response.status}: ${JSON.stringify(response.body)}`);
  }
}

/** Installs a plugin in a tenant and fails the test unless it succeeds. */
export async function install(tenant: string, body: Record<string, unknown>): Promise<any> {
  const response = await api("POST", `/v1/tenants/${tenant}/installations`, body);
  if (response.status !== 201) throw new Error(`install failed with ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.installation;
}

/** Creates a ticket and returns the response body. */
export async function createTicket(tenant: string, draft: Record<string, unknown>): Promise<ApiResponse> {
  return api("POST", `/v1/tenants/${tenant}/tickets`, draft);
}
