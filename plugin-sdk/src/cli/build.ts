/**
 * `berth build [dir]`: bundles a plugin and writes its manifest with module digests.
 *
 * @module
 */
import type { Command } from "commander";

import { buildPlugin } from "../build/build.ts";
import { displayPath, print } from "./output.ts";

/** Registers `berth build`. */
export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("bundle src/index.ts into dist/index.js and write dist/manifest.json from berth.json")
    .argument("[dir]", "the plugin's project folder", ".")
    .action(async (dir: string) => {
      const result = await buildPlugin(dir);
      const { manifest } = result;
      const modules = Object.entries(manifest.modules).map(
        ([name, entry]) => `  module   ${name}  ${entry.size} bytes  sha256 ${entry.sha256}`,
      );

      print(
        `built ${manifest.name}@${manifest.version} into ${displayPath(result.outDir)}`,
        ...modules,
        `  manifest ${displayPath(result.manifestPath)}`,
        `next: berth sign ${displayPath(dir)} --key keys/${manifest.publisher}.private.json (from berth keygen --out keys)`,
      );
    });
}
