/**
 * `berth build`: bundles a plugin with esbuild into one ES module and writes the
 * manifest with that module's SHA-256 digest.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { build } from "esbuild";
import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { sha256Hex, utf8Length } from "../package/digest.ts";
import { issueToError } from "../package/issues.ts";
import { LIMITS } from "../package/limits.ts";
import { manifestSchema, type Manifest } from "../package/manifest.ts";
import { DIST, readProject } from "./project.ts";

/** Options of {@link buildPlugin}. */
export interface BuildOptions {
  /** Entry file relative to the project; defaults to `src/index.ts`. */
  entry?: string;
  /** Output folder; defaults to `dist` in the project. */
  outDir?: string;
}

/** What {@link buildPlugin} wrote. */
export interface BuildResult {
  manifest: Manifest;
  outDir: string;
  mainPath: string;
  manifestPath: string;
}

/**
 * Bundles the plugin in `dir` and writes `index.js` and `manifest.json` to the
 * output folder. The bundle is deterministic for the same sources and esbuild
 * version, so a manifest can be checked against a rebuild.
 */
export async function buildPlugin(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const project = await readProject(dir);
  const outDir = resolve(dir, options.outDir ?? DIST.dir);
  const entry = resolve(dir, options.entry ?? "src/index.ts");

  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    // The runtime provides cloudflare:workers; everything else is bundled in.
    external: ["cloudflare:*"],
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "import"],
    legalComments: "none",
    logLevel: "silent",
    absWorkingDir: resolve(dir),
  }).catch((error: unknown) => {
    throw new BerthError("ERR_PACKAGE_INVALID", `esbuild could not bundle ${entry}: ${error instanceof Error ? error.message : String(error)}`, {
      path: "entry",
      cause: error,
    });
  });

  const code = result.outputFiles[0]?.text ?? "";
  const size = utf8Length(code);
  if (size > LIMITS.moduleBytes) {
    throw new BerthError("ERR_PACKAGE_TOO_LARGE", `the bundle is ${size} bytes; a module may be at most ${LIMITS.moduleBytes}`, { path: "modules" });
  }

  const parsed = v.safeParse(manifestSchema, {
    ...project,
    main: DIST.main,
    modules: { [DIST.main]: { sha256: await sha256Hex(code), size } },
  });
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_MANIFEST_INVALID", unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY", prefix: "berth.json" });
  }
  const manifest = parsed.output;

  await mkdir(outDir, { recursive: true });
  const mainPath = join(outDir, DIST.main);
  const manifestPath = join(outDir, DIST.manifest);
  await writeFile(mainPath, code);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, outDir, mainPath, manifestPath };
}

/** Reads the modules a built manifest lists from its output folder. */
export async function readModules(outDir: string, manifest: Manifest): Promise<Record<string, string>> {
  const modules: Record<string, string> = {};
  for (const name of Object.keys(manifest.modules)) modules[name] = await readFile(join(outDir, name), "utf8");
  return modules;
}
