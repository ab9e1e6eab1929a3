import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

import type { TestKeys } from "./test/global-setup.ts";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const keys = inject<TestKeys>("testKeys");
      const packages = inject<Record<string, unknown>>("examplePackages");
      return {
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: {
          bindings: {
            // The host trusts the test publisher's key as well as the committed dev key.
            BERTH_TRUSTED_KEYS: JSON.stringify([keys.trusted]),
            TEST_SIGNING_KEY: keys.signing,
            TEST_OTHER_KEY: keys.untrusted,
            TEST_AUTH_KEY: keys.auth,
            EXAMPLE_PACKAGES: packages,
          },
        },
      };
    }),
  ],
  test: {
    name: "workers",
    include: ["host/test/**/*.test.ts", "example-plugins/*/test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 20_000,
  },
});
