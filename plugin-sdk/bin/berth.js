#!/usr/bin/env node
// The berth CLI. Its source is src/cli/; `npm run build --workspace plugin-sdk`
// (which the repository's `npm install` runs) bundles it into dist/cli.js.
try {
  await import("../dist/cli.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("cli.js")) throw error;
  process.stderr.write("error: the berth CLI is not built; run npm run build --workspace plugin-sdk\n");
  process.exitCode = 1;
}
