/**
 * Helpers the CLI commands share for what they print.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";

import packageJson from "../../package.json";

/** The version of `@berth/plugin-sdk`, which is also the `berth` CLI's version. */
export const SDK_VERSION: string = packageJson.version;

/** Returns `path` relative to the working directory when it lies inside it, else absolute. */
export function displayPath(path: string): string {
  const absolute = resolve(path);
  const fromCwd = relative(process.cwd(), absolute);
  if (fromCwd === "") return ".";
  if (fromCwd.startsWith("..") || isAbsolute(fromCwd)) return absolute;
  return fromCwd;
}

/** Writes lines to stdout. */
export function print(...lines: string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Formats seconds since the epoch as an ISO 8601 time. */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
