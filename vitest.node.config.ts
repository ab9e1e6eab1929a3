import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "node",
    include: ["plugin-sdk/test/**/*.test.ts", "scripts/test/**/*.test.ts", "test/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
