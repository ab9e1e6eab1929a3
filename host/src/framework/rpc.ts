/**
 * Errors across Durable Object RPC. Custom error properties do not survive the
 * RPC boundary, so Durable Object methods return a result object instead of
 * throwing, and the caller turns it back into a `BerthError`.
 *
 * @module
 */
import { BerthError, isErrorCode, type ErrorCode } from "@berth/plugin-sdk/errors";

/** A Durable Object method's answer: a value, or a coded error. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string; path?: string } };

/** Runs `task` and captures a `BerthError` as a failed result; other errors propagate. */
export async function toResult<T>(task: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await task() };
  } catch (error) {
    if (!(error instanceof BerthError)) throw error;
    const body: { code: ErrorCode; message: string; path?: string } = { code: error.code, message: error.message };
    if (error.path !== undefined) body.path = error.path;
    return { ok: false, error: body };
  }
}

/** Returns the value of a result, or throws its error as a `BerthError`. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const code = isErrorCode(result.error.code) ? result.error.code : "ERR_INTERNAL";
  throw new BerthError(code, result.error.message, result.error.path === undefined ? {} : { path: result.error.path });
}

/**
 * Returns a plain `Error` whose message starts with the code, for errors thrown to
 * plugin code over RPC, where only the message arrives.
 */
export function toPluginError(error: BerthError): Error {
  return new Error(`${error.code}: ${error.message}`);
}
