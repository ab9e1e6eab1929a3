// The API bearer token the harness sends: an operator token signed with the
// development auth key, which the demo host (and so the bench Worker) trusts.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { mintApiToken } from "../../plugin-sdk/src/auth/token.ts";

/** Lifetime of the token; longer than any run's deadline. */
const TOKEN_LIFETIME = "2h";

/** Returns an operator token signed with manifests/keys/auth.DEVELOPMENT-ONLY.private.json. */
export async function mintOperatorToken(root) {
  const jwk = JSON.parse(await readFile(join(root, "manifests/keys/auth.DEVELOPMENT-ONLY.private.json"), "utf8"));
  return mintApiToken(jwk, { role: "operator" }, { subject: "berth-bench", expiresIn: TOKEN_LIFETIME });
}
