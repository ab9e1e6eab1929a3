// The API bearer token the harness sends: an operator token signed with the
// development auth key, which the demo host (and so the bench Worker) trusts.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { SignJWT, importJWK } from "jose";

/** Issuer and audience every API token must carry (host/src/framework/api/auth.ts). */
const TOKEN_ISSUER = "berth";
const TOKEN_AUDIENCE = "berth-api";
/** Lifetime of the token; longer than any run's deadline. */
const TOKEN_LIFETIME = "2h";

/** Returns an operator token signed with manifests/keys/auth.DEVELOPMENT-ONLY.private.json. */
export async function mintOperatorToken(root) {
  const jwk = JSON.parse(await readFile(join(root, "manifests/keys/auth.DEVELOPMENT-ONLY.private.json"), "utf8"));
  return new SignJWT({ role: "operator" })
    .setProtectedHeader({ alg: "Ed25519", kid: jwk.kid })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject("berth-bench")
    .setIssuedAt()
    .setExpirationTime(TOKEN_LIFETIME)
    .sign(await importJWK(jwk, "Ed25519"));
}
