/**
 * The trust store: the publisher keys a host (or `berth verify`) accepts, looked up
 * by key ID. Algorithm and publisher always come from here, never from a token.
 *
 * @module
 */
import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { issueToError } from "./issues.ts";
import { PLUGIN_NAME } from "./names.ts";

/** Signature algorithms Berth accepts, by their fully specified JOSE names (RFC 9864). */
export const SIGNING_ALGORITHMS = ["Ed25519", "ES256"] as const;

/** One accepted signature algorithm. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

const base64url = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{20,100}$/, "must be a base64url key coordinate"));

const publicJwk = v.union([
  v.object({ kty: v.literal("OKP"), crv: v.literal("Ed25519"), x: base64url }),
  v.object({ kty: v.literal("EC"), crv: v.literal("P-256"), x: base64url, y: base64url }),
]);

/** A trusted publisher key as configured by the host operator. */
export const trustedKeySchema = v.pipe(
  v.strictObject({
    kid: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1 to 128 characters of [A-Za-z0-9._:-]")),
    publisher: v.pipe(v.string(), v.regex(PLUGIN_NAME, "must be a publisher name")),
    alg: v.picklist(SIGNING_ALGORITHMS, `must be one of ${SIGNING_ALGORITHMS.join(", ")}`),
    jwk: v.looseObject({ kty: v.string() }),
    /** Seconds since the epoch before which signatures by this key are refused. */
    notBefore: v.optional(v.pipe(v.number(), v.integer())),
    /** Seconds since the epoch after which signatures by this key are refused. */
    notAfter: v.optional(v.pipe(v.number(), v.integer())),
  }),
  v.forward(
    v.check(({ jwk }) => !("d" in jwk), "must be a public key; this one holds the private part (d)"),
    ["jwk"],
  ),
  v.forward(
    v.check(({ alg, jwk }) => v.is(publicJwk, jwk) && (alg === "Ed25519") === (jwk.kty === "OKP"), "must be an Ed25519 (OKP) or P-256 (EC) public key matching alg"),
    ["jwk"],
  ),
);

/** A trusted publisher key. */
export type TrustedKey = v.InferOutput<typeof trustedKeySchema>;

/** Trusted keys by key ID. */
export interface TrustStore {
  readonly keys: ReadonlyMap<string, TrustedKey>;
}

/**
 * Builds a trust store from configured keys. Raises `ERR_TRUST_KEY_INVALID` for a
 * malformed key or a key ID listed twice: a configuration mistake, so callers run
 * this at start-up.
 */
export function createTrustStore(input: unknown): TrustStore {
  const parsed = v.safeParse(v.array(trustedKeySchema), input);
  if (!parsed.success) throw issueToError(parsed.issues, { code: "ERR_TRUST_KEY_INVALID", prefix: "trustedKeys" });

  const keys = new Map<string, TrustedKey>();
  for (const key of parsed.output) {
    if (keys.has(key.kid)) {
      throw new BerthError("ERR_TRUST_KEY_INVALID", `trustedKeys lists key ID "${key.kid}" twice; key IDs must be unique`);
    }
    keys.set(key.kid, key);
  }
  return { keys };
}
