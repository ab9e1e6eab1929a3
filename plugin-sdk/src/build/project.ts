/**
 * A plugin project on disk: `berth.json` (the manifest without `main` and
 * `modules`), source under `src/`, and build output under `dist/`.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { issueToError } from "../package/issues.ts";
import { manifestSchema } from "../package/manifest.ts";

/** The file an author writes: every manifest field except `main` and `modules`. */
export const PROJECT_FILE = "berth.json";

/** Build output paths, relative to the project folder. */
export const DIST = {
  dir: "dist",
  /** The bundled main module. */
  main: "index.js",
  /** The unsigned manifest with module digests. */
  manifest: "manifest.json",
  /** The signed package: `{ manifest: <JWS>, modules }`, what `berth publish` sends. */
  package: "package.berth.json",
} as const;

/** Schema of `berth.json`: the manifest without the fields `berth build` computes. */
export const projectSchema = v.omit(manifestSchema.pipe[0], ["main", "modules"]);

/** The contents of `berth.json`. */
export type Project = v.InferOutput<typeof projectSchema>;

/** Reads and validates `berth.json` in `dir`. Raises `ERR_MANIFEST_INVALID` or `ERR_MANIFEST_UNKNOWN_KEY`. */
export async function readProject(dir: string): Promise<Project> {
  const path = join(dir, PROJECT_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new BerthError("ERR_MANIFEST_INVALID", `cannot read ${path}; run berth init or pass the plugin's folder`, { path: PROJECT_FILE, cause: error });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BerthError("ERR_MANIFEST_INVALID", `${path} is not valid JSON`, { path: PROJECT_FILE, cause: error });
  }

  const parsed = v.safeParse(projectSchema, json);
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_MANIFEST_INVALID", unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY", prefix: "berth.json" });
  }
  return parsed.output;
}
