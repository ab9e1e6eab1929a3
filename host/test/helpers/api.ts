/**
 * Test helpers that go through the host's real `fetch` entry and sign real
 * packages with the test publisher's key.
 */
import { env, exports } from "cloudflare:workers";
import type { JWK } from "jose";

import { mintApiToken, type TokenClaims } from "../../../plugin-sdk/src/auth/token.ts";
import { sha256Hex, signManifest, type ManifestInput, type SigningKey } from "../../../plugin-sdk/src/package/index.ts";

/** A response's status and parsed JSON body. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export type { TokenClaims };

/** Mints an API bearer token with the development auth key, valid for one hour. */
export async function mintToken(claims: TokenClaims, options: { expiresIn?: string; key?: JWK } = {}): Promise<string> {
  return mintApiToken(options.key ?? env.TEST_AUTH_KEY, claims, { subject: `test-${claims.role}`, expiresIn: options.expiresIn ?? "1h" });
}

let operatorToken: Promise<string> | undefined;

/** Options of {@link api}. */
export interface ApiOptions {
  /** The bearer token to send; an operator token by default, none when null. */
  token?: string | null;
}

/** Sends a request to the host Worker and parses the JSON answer. */
export async function api<T = any>(method: string, path: string, body?: unknown, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = "application/json";
  }
  operatorToken ??= mintToken({ role: "operator" });
  const token = options.token === undefined ? await operatorToken : options.token;
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
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
export interface PackageOptions extends Omit<Partial<ManifestInput>, "modules"> {
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

/** Builds, signs and publishes a package; see {@link makePackage}. */
export async function publishPlugin(options: PackageOptions): Promise<void> {
  await publish(await makePackage(options));
}

/**
 * Returns the source of a plugin module that exports one `WorkerEntrypoint` class
 * per entry of `classes`, each with the given class body. `prelude` goes before
 * the classes, for module-level state.
 */
export function pluginSource(classes: Record<string, string>, prelude = ""): string {
  const parts = ['import { WorkerEntrypoint } from "cloudflare:workers";', prelude];
  for (const [name, body] of Object.entries(classes)) parts.push(`export class ${name} extends WorkerEntrypoint {\n${body}\n}`);
  return `${parts.join("\n")}\n`;
}

/** Returns a hook subscription of the `Hooks` entrypoint's `method`. */
export function hook(method: string, priority?: number): { entrypoint: string; method: string; priority?: number } {
  return priority === undefined ? { entrypoint: "Hooks", method } : { entrypoint: "Hooks", method, priority };
}

/** Returns one installation of a tenant, or the error response. */
export async function getInstallation(tenant: string, name: string): Promise<ApiResponse> {
  return api("GET", `/v1/tenants/${tenant}/installations/${name}`);
}

/** Changes an installation with PATCH. */
export async function patchInstallation(tenant: string, name: string, body: Record<string, unknown>): Promise<ApiResponse> {
  return api("PATCH", `/v1/tenants/${tenant}/installations/${name}`, body);
}

/** Uninstalls a plugin from a tenant. */
export async function uninstall(tenant: string, name: string): Promise<ApiResponse> {
  return api("DELETE", `/v1/tenants/${tenant}/installations/${name}`);
}

/** Returns the messages of an installation's log, oldest first. */
export async function logMessages(tenant: string, name: string): Promise<string[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/installations/${name}/logs`);
  if (response.status !== 200) throw new Error(`reading logs failed with ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body.logs.map((line: { message: string }) => line.message);
}

/** Returns a ticket with its panels. */
export async function showTicket(tenant: string, id: string): Promise<ApiResponse> {
  return api("GET", `/v1/tenants/${tenant}/tickets/${id}`);
}

/** Asks to close a ticket. */
export async function closeTicket(tenant: string, id: string, body: Record<string, unknown> = {}): Promise<ApiResponse> {
  return api("POST", `/v1/tenants/${tenant}/tickets/${id}/close`, body);
}

/** Returns the requests the demo inbox received for a tenant, newest first. */
export async function readInbox(tenant: string): Promise<{ plugin: string; method: string; url: string; body: string }[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/inbox`);
  return response.body.requests;
}

/**
 * Returns what a plugin reported through its panel on a ticket: the JSON-parsed
 * body of the first panel `plugin` contributed. Test plugins use a panel as a
 * window into their isolate, env and storage. Fails the test if there is none.
 */
export async function readPanel(tenant: string, ticketId: string, plugin: string): Promise<any> {
  const response = await showTicket(tenant, ticketId);
  if (response.status !== 200) throw new Error(`showing ticket failed with ${response.status}: ${JSON.stringify(response.body)}`);
  const panel = response.body.panels.find((entry: { plugin: string }) => entry.plugin === plugin);
  if (panel === undefined) throw new Error(`${plugin} contributed no panel: ${JSON.stringify(response.body.panels)}`);
  return JSON.parse(panel.item.body);
}
