/**
 * Signing a manifest: the manifest becomes the `manifest` claim of a JWT signed
 * with a publisher's private key.
 *
 * @module
 */
import { SignJWT, importJWK, type JWK } from "jose";

import type { Manifest } from "./manifest.ts";
import type { SigningAlgorithm } from "./trust.ts";

/** The `typ` header of every signed manifest, so no other JWT can pass as one. */
export const MANIFEST_TOKEN_TYPE = "berth-manifest+jwt";

/** A publisher's private signing key. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  /** The private JWK, including `d`. */
  jwk: JWK;
}

/** Options of {@link signManifest}. */
export interface SignOptions {
  /** Signing time; defaults to now. */
  now?: Date;
  /** Lifetime of the signature in seconds; omitted means it never expires. */
  expiresInSeconds?: number;
}

/**
 * Signs a manifest and returns the compact JWS. Claims: `iss` is the publisher,
 * `sub` is `name@version`, `iat` the signing time and `exp` the optional expiry.
 */
export async function signManifest(manifest: Manifest, key: SigningKey, options: SignOptions = {}): Promise<string> {
  const privateKey = await importJWK(key.jwk, key.alg);
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);

  const token = new SignJWT({ manifest })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: MANIFEST_TOKEN_TYPE })
    .setIssuer(manifest.publisher)
    .setSubject(`${manifest.name}@${manifest.version}`)
    .setIssuedAt(issuedAt);
  if (options.expiresInSeconds !== undefined) token.setExpirationTime(issuedAt + options.expiresInSeconds);

  return token.sign(privateKey);
}
