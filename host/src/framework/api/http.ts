/**
 * HTTP plumbing of the API: JSON bodies with a size limit, and coded errors with
 * the status each code maps to.
 *
 * @module
 */
import { BerthError, type ErrorCode } from "@berth/plugin-sdk/errors";
import { LIMITS, issueToError } from "@berth/plugin-sdk/package";
import * as v from "valibot";

import { escapeControlCharacters } from "../tenants/log-text.ts";

const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID: 401,
  ERR_AUTH_FORBIDDEN: 403,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_NOT_FOUND: 404,
  ERR_PLUGIN_NOT_FOUND: 404,
  ERR_INSTALLATION_NOT_FOUND: 404,
  ERR_TRUST_KEY_NOT_FOUND: 404,
  ERR_REGISTRY_VERSION_CONFLICT: 409,
  ERR_TRUST_KEY_CONFLICT: 409,
  ERR_PACKAGE_YANKED: 410,
  ERR_INSTALLATION_EXISTS: 409,
  ERR_UPGRADE_NOT_GREATER: 409,
  ERR_REQUEST_TOO_LARGE: 413,
  ERR_PACKAGE_TOO_LARGE: 413,
  ERR_JWS_ALGORITHM_NOT_ALLOWED: 422,
  ERR_JWS_ALGORITHM_MISMATCH: 422,
  ERR_JWS_SIGNATURE_INVALID: 422,
  ERR_SIGNATURE_EXPIRED: 422,
  ERR_SIGNATURE_NOT_YET_VALID: 422,
  ERR_TRUST_UNKNOWN_KEY: 422,
  ERR_TRUST_KEY_NOT_YET_VALID: 422,
  ERR_TRUST_KEY_EXPIRED: 422,
  ERR_TRUST_KEY_RETIRED: 422,
  ERR_TRUST_KEY_REVOKED: 422,
  ERR_PUBLISHER_MISMATCH: 422,
  ERR_MODULE_MISSING: 422,
  ERR_MODULE_UNDECLARED: 422,
  ERR_MODULE_DIGEST_MISMATCH: 422,
  ERR_HOST_RANGE_UNSATISFIED: 422,
  ERR_MANIFEST_UNKNOWN_CAPABILITY: 422,
  ERR_MANIFEST_UNKNOWN_HOOK: 422,
  ERR_LIFECYCLE_FAILED: 422,
  ERR_PACKAGE_CODE_MISSING: 422,
  ERR_PACKAGE_CODE_ALTERED: 422,
  ERR_INTERNAL: 500,
  ERR_TRUST_KEY_INVALID: 500,
};

/** Returns the HTTP status for an error code; input errors not listed are 400. */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

/** Returns a JSON response. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** Returns the error response for a thrown value; anything but a `BerthError` becomes `ERR_INTERNAL`. */
export function errorResponse(error: unknown): Response {
  if (error instanceof BerthError) return jsonResponse(error.toJSON(), statusFor(error.code));
  // The stack is escaped onto one line: an error message may quote request input.
  console.error(`berth api: unexpected error: ${escapeControlCharacters(error instanceof Error ? (error.stack ?? String(error)) : String(error))}`);
  return jsonResponse(new BerthError("ERR_INTERNAL", "the host failed unexpectedly; the failure was logged").toJSON(), 500);
}

/**
 * Reads a JSON body of at most `limit` bytes, counting while it streams so a
 * missing or false `content-length` cannot get past the limit, and nested at most
 * `maxDepth` arrays and objects deep. Raises `ERR_REQUEST_TOO_LARGE`,
 * `ERR_REQUEST_TOO_DEEP` or `ERR_REQUEST_NOT_JSON`.
 */
export async function readJson(request: Request, limit: number, maxDepth: number = LIMITS.jsonDepth): Promise<unknown> {
  const tooLarge = () => new BerthError("ERR_REQUEST_TOO_LARGE", `the request body is over ${limit} bytes`, { path: "body" });
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }

  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  checkDepth(bytes, maxDepth);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)) as unknown;
  } catch {
    throw new BerthError("ERR_REQUEST_NOT_JSON", "the request body must be JSON; send Content-Type: application/json with a JSON document", { path: "body" });
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);

/**
 * Raises `ERR_REQUEST_TOO_DEEP` when brackets outside strings nest deeper than
 * `maxDepth`, before `JSON.parse` and the schemas walk the value. Scanning bytes
 * is safe for UTF-8 because no byte of a multi-byte character is below 0x80.
 */
function checkDepth(bytes: Uint8Array, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index] as number;
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      depth += 1;
      if (depth > maxDepth) {
        throw new BerthError("ERR_REQUEST_TOO_DEEP", `the request body nests arrays and objects more than ${maxDepth} levels deep`, { path: "body" });
      }
    } else if (CLOSERS.has(byte)) {
      depth -= 1;
    }
  }
}

/**
 * Reads a JSON body that may be left out. No body, or an empty one such as
 * `curl -X POST` sends with `content-length: 0`, reads as `{}`.
 */
export async function readOptionalJson(request: Request, limit: number): Promise<unknown> {
  if (request.body === null || request.headers.get("content-length") === "0") return {};
  return readJson(request, limit);
}

/** Parses input with a schema; raises `ERR_REQUEST_INVALID` naming the field. */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown, prefix: string): v.InferOutput<S> {
  const parsed = v.safeParse(schema, input);
  if (!parsed.success) throw issueToError(parsed.issues, { code: "ERR_REQUEST_INVALID", prefix });
  return parsed.output;
}
