import type { SigningKey } from "../../../plugin-sdk/src/package/index.ts";
import type { BerthEnv } from "../../src/framework/index.ts";

declare global {
  namespace Cloudflare {
    /** Types `exports` from "cloudflare:workers": loopback bindings of the demo Worker's exports. */
    interface GlobalProps {
      mainModule: typeof import("../../src/demo/worker.ts");
      durableNamespaces: "HelpDeskTenant" | "RegistryObject";
    }
    interface Env extends BerthEnv {
      /** Private key of the trusted test publisher `berth-test`. */
      TEST_SIGNING_KEY: SigningKey & { publisher: string };
      /** Private key of publisher `berth-test` that the host does not trust. */
      TEST_OTHER_KEY: SigningKey & { publisher: string };
      /** The development private key that signs API bearer tokens. */
      TEST_AUTH_KEY: import("jose").JWK;
      /** Example plugins, built and signed with the development key, by manifest name. */
      EXAMPLE_PACKAGES: Record<string, { manifest: string; modules: Record<string, string> }>;
    }
  }
}
