/**
 * The CLI's HTTP client for a Berth host's `/v1` API, on the global `fetch`.
 *
 * @module
 */
import { Option } from "commander";

import { CliError, HostError, usageError } from "./errors.ts";

/** The host `--host` points at unless given: `wrangler dev`'s default address. */
export const DEFAULT_HOST = "http://127.0.0.1:8787";

/** How long one request to the host may take, in milliseconds. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Returns the `--host <url>` option, which also reads the `BERTH_HOST` environment variable. */
export function hostOption(): Option {
  return new Option("--host <url>", "base URL of the Berth host").default(DEFAULT_HOST).env("BERTH_HOST");
}

/** Returns the `--token <jwt>` option, which also reads the `BERTH_TOKEN` environment variable. */
export function tokenOption(): Option {
  return new Option("--token <jwt>", "bearer token for the host's API (mint one for a local host with berth token)").env("BERTH_TOKEN");
}

/** A host to send requests to, with the bearer token to send. */
export interface HostConnection {
  url: URL;
  token: string | undefined;
}

/** Returns the connection for `--host` and `--token`. Raises `ERR_CLI_USAGE` for a bad URL. */
export function connectHost(options: { host: string; token?: string }): HostConnection {
  // An empty BERTH_TOKEN (as `BERTH_TOKEN= berth ...` sets it) means no token, not an empty one.
  const token = options.token === undefined || options.token.trim() === "" ? undefined : options.token;
  return { url: parseHostUrl(options.host), token };
}

/** Parses a `--host` value. Raises `ERR_CLI_USAGE` for anything but an http or https URL. */
export function parseHostUrl(value: string): URL {
  const invalid = () => usageError(`--host "${value}" is not an http or https URL; pass one such as ${DEFAULT_HOST}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid();
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid();
  // Resolve API paths below any path prefix the host is served under.
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url;
}

/**
 * Sends one JSON request to the host and returns the parsed 2xx response body.
 * Raises {@link HostError} for an error response, `ERR_CLI_HOST_UNREACHABLE` when
 * no response arrives within {@link REQUEST_TIMEOUT_MS}, and
 * `ERR_CLI_HOST_RESPONSE_INVALID` for a body that is not the API's JSON.
 */
export async function requestHost(connection: HostConnection, method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const host = connection.url;
  const url = new URL(path.replace(/^\//, ""), host);
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (connection.token !== undefined) headers["authorization"] = `Bearer ${connection.token}`;
  const request = `${method} ${url.href}`;

  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw unreachable(host, error);
  }

  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(
      "ERR_CLI_HOST_RESPONSE_INVALID",
      `${request} returned status ${response.status} with a body that is not JSON; check that --host points at a Berth host`,
    );
  }

  if (response.ok) return { status: response.status, body: json };
  const error = errorOf(json);
  if (error === undefined) {
    throw new CliError("ERR_CLI_HOST_RESPONSE_INVALID", `${request} returned status ${response.status} without a Berth error body; check that --host points at a Berth host`);
  }
  // Without a token the host's advice is generic; name the CLI's own ways to pass one.
  const message =
    error.code === "ERR_AUTH_REQUIRED" && connection.token === undefined
      ? `${error.message}, then pass it with --token or the BERTH_TOKEN environment variable`
      : error.message;
  throw new HostError(error.code, message, response.status, request);
}

function errorOf(json: unknown): { code: string; message: string } | undefined {
  if (typeof json !== "object" || json === null || !("error" in json)) return undefined;
  const error = json.error;
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message } = error as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string") return undefined;
  return { code, message };
}

function unreachable(host: URL, error: unknown): CliError {
  const origin = host.href.replace(/\/$/, "");
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new CliError("ERR_CLI_HOST_UNREACHABLE", `the host at ${origin} did not respond within ${REQUEST_TIMEOUT_MS / 1000} s`, { cause: error });
  }

  // Node's fetch raises "fetch failed" and keeps the system error (ECONNREFUSED, ENOTFOUND) in `cause`.
  let detail = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) detail = (cause as NodeJS.ErrnoException).code ?? cause.message;
  return new CliError("ERR_CLI_HOST_UNREACHABLE", `failed to connect to the host at ${origin} (${detail}); check that the host is running or pass --host URL`, {
    cause: error,
  });
}
