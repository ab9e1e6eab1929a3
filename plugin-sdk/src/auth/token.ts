/**
 * API bearer tokens: JWTs the host verifies against its auth keys. The host,
 * `berth token`, the demo starter, the benchmarks and the tests all mint them here,
 * so the issuer, audience and claims have one definition.
 *
 * @module
 */
import { SignJWT, importJWK, type JWK } from "jose";

/** The `iss` of every API token. */
export const TOKEN_ISSUER = "berth";

/** The `aud` of every API token. */
export const TOKEN_AUDIENCE = "berth-api";

/** The role claims of an API token: a tenant admin acts on one tenant only. */
export type TokenClaims = { role: "operator" | "publisher" } | { role: "tenant-admin"; tenant: string };

/** Options of {@link mintApiToken}. */
export interface MintOptions {
  /** Who the token is for, as the host's audit lines name them. */
  subject: string;
  /** Lifetime as a jose time span such as `12h`, or an absolute expiry in seconds since the epoch. */
  expiresIn: string | number;
}

/** Mints an API token signed with a private Ed25519 JWK that carries its `kid`. */
export async function mintApiToken(jwk: JWK, claims: TokenClaims, options: MintOptions): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "Ed25519", kid: jwk.kid as string })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(options.subject)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn)
    .sign(await importJWK(jwk, "Ed25519"));
}
