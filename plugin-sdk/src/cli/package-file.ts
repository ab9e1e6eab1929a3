/**
 * The `[dir|package-file]` argument of `berth verify` and `berth publish`.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";

import { DIST } from "../build/project.ts";
import { readPackageFile } from "../build/sign.ts";

/** Help text of the `[dir|package-file]` argument. */
export const PACKAGE_ARGUMENT_HELP = `a project folder (its ${DIST.dir}/${DIST.package} is used) or a package file`;

/**
 * Reads the package a `[dir|package-file]` argument names and returns its path and
 * parsed JSON. Raises `ERR_PACKAGE_INVALID` when the file is missing or not JSON.
 */
export async function readPackageArgument(target: string): Promise<{ path: string; json: unknown }> {
  const info = await stat(target).catch(() => undefined);
  const path = info?.isDirectory() === true ? join(target, DIST.dir, DIST.package) : target;
  return { path, json: await readPackageFile(path) };
}
