import { defineConfig } from "vitest/config";

// wrangler and Miniflare must not wait on the network: no Request.cf fetch, no telemetry.
process.env["CLOUDFLARE_CF_FETCH_ENABLED"] = "false";
process.env["WRANGLER_SEND_METRICS"] = "false";

// Two projects: tests inside workerd (host and example plugins) and tests in Node
// (the berth CLI as a process, scripts, and end-to-end runs against wrangler dev).
export default defineConfig({
  test: {
    projects: ["./vitest.workers.config.ts", "./vitest.node.config.ts"],
  },
});
