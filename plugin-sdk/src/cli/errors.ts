/**
 * Errors only the `berth` CLI raises, and how the CLI reports any error: one line
 * `error CODE: message` on stderr and exit code 1.
 *
 * @module
 */
import { CommanderError } from "commander";

import { BerthError } from "../errors.ts";

/**
 * Codes of failures that happen only in the CLI, outside the package format and
 * the host. The host's codes stay in `ERROR_CODES`; these never reach a host.
 */
export const CLI_ERROR_CODES = {
  ERR_CLI_USAGE: "an argument or option is missing or invalid",
  ERR_CLI_DIR_NOT_EMPTY: "berth init was given a folder that already contains files",
  ERR_CLI_FILE_EXISTS: "berth keygen would overwrite an existing key file",
  ERR_CLI_HOST_UNREACHABLE: "the host did not respond: connection refused, timed out or DNS failure",
  ERR_CLI_HOST_RESPONSE_INVALID: "the host responded with something other than the expected JSON",
} as const;

/** A CLI-only error code. */
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/** An error with a CLI-only code; reported like a {@link BerthError}. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Returns an `ERR_CLI_USAGE` error with `message`. */
export function usageError(message: string): CliError {
  return new CliError("ERR_CLI_USAGE", message);
}

/**
 * An error response of a Berth host. Its code is kept as a string because a
 * newer host may send a code this SDK does not list.
 */
export class HostError extends Error {
  override readonly name = "HostError";
  readonly code: string;
  /** HTTP status of the response. */
  readonly status: number;
  /** Method and URL of the failed request, such as `POST http://127.0.0.1:8787/v1/plugins`. */
  readonly request: string;

  constructor(code: string, message: string, status: number, request: string) {
    super(message);
    this.code = code;
    this.status = status;
    this.request = request;
  }
}

/** Output stream of {@link reportError}. */
export interface ErrorOutput {
  stderr: (text: string) => void;
}

/**
 * Writes a thrown value to stderr and returns the process exit code. Coded errors
 * and failed system calls get one line without a stack. Anything else is a bug in
 * the CLI, so its stack is printed to help report it.
 */
export function reportError(error: unknown, output: ErrorOutput): number {
  // Commander has already printed its usage error or help; only the exit code is left.
  if (error instanceof CommanderError) return error.exitCode;
  if (error instanceof BerthError || error instanceof CliError) {
    output.stderr(`error ${error.code}: ${error.message}\n`);
    return 1;
  }
  if (error instanceof HostError) {
    output.stderr(`error ${error.code}: ${error.message}\n  the host responded ${error.status} to ${error.request}\n`);
    return 1;
  }

  // A failed file system call (EACCES, ENOTDIR, ...) is the environment's fault, not a bug.
  if (isSystemError(error)) {
    output.stderr(`error ${error.code}: ${error.message.replace(`${error.code}: `, "")}\n`);
    return 1;
  }

  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  output.stderr(`error: berth failed unexpectedly; please report this with the output below\n${detail}\n`);
  return 1;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && typeof (error as NodeJS.ErrnoException).syscall === "string";
}
