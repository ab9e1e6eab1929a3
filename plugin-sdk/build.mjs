// Bundles the berth CLI into dist/ so it runs on plain Node (20 or later) without a
// TypeScript loader. Dependencies stay external and resolve from node_modules.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

import { build } from "esbuild";

const result = await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
  write: false,
});

// Write each file under a temporary name and rename it, so a CLI started while
// another build runs (test files build in parallel) never reads half a file.
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(temporary, file.contents);
  await rename(temporary, file.path);
}
