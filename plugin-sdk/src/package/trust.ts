/**
 * The trust store: the publisher keys a host (or `berth verify`) accepts, looked up
 * by key ID. Algorithm and publisher always come from here, never from a token.
 *
 * @module
 */
import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { issueToError } from "./issues.ts";
import { LIMITS } from "./limits.ts";
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

/** Key IDs: 1 to 128 characters of `[A-Za-z0-9._:-]`. */
export const KEY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const seconds = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(253_402_300_799, "must be a time before the year 10000, in seconds since the epoch"));

/**
 * A trusted publisher key as configured by the host operator or stored in the
 * host's registry. Times are seconds since the epoch.
 */
export const trustedKeySchema = v.pipe(
  v.strictObject({
    kid: v.pipe(v.string(), v.regex(KEY_ID, "must be 1 to 128 characters of [A-Za-z0-9._:-]")),
    publisher: v.pipe(v.string(), v.regex(PLUGIN_NAME, "must be a publisher name")),
    alg: v.picklist(SIGNING_ALGORITHMS, `must be one of ${SIGNING_ALGORITHMS.join(", ")}`),
    jwk: v.looseObject({ kty: v.string() }),
    /** Signatures issued before this time are rejected. */
    notBefore: v.optional(seconds),
    /** Signatures issued after this time are rejected; for a retired key, installs after it are rejected too. */
    notAfter: v.optional(seconds),
    /** When the key was retired: it signs no new publishes, and what it signed stays installable until `notAfter`. */
    retiredAt: v.optional(seconds),
    /** When the key was revoked: every signature by it is rejected at publish, install and load. */
    revokedAt: v.optional(seconds),
    /** Reason for the revocation, shown in errors and in the installations it disabled. */
    revokedReason: v.optional(v.pipe(v.string(), v.maxLength(LIMITS.text, `must be at most ${LIMITS.text} characters`))),
  }),
  v.forward(
    v.check(({ notBefore, notAfter }) => notBefore === undefined || notAfter === undefined || notBefore <= notAfter, "must not be earlier than notBefore"),
    ["notAfter"],
  ),
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

/** Stage of a key's life: `active` signs new publishes, `retired` no longer does, and `revoked` is rejected everywhere. */
export type KeyStatus = "active" | "retired" | "revoked";

/** Returns a key's status; revocation wins over retirement. */
export function keyStatus(key: Pick<TrustedKey, "retiredAt" | "revokedAt">): KeyStatus {
  if (key.revokedAt !== undefined) return "revoked";
  if (key.retiredAt !== undefined) return "retired";
  return "active";
}

/**
 * Returns an identifier of a public key's material (type, curve and coordinates),
 * so one key listed under two key IDs can be found.
 */
export function keyMaterial(jwk: Record<string, unknown>): string {
  return [jwk["kty"], jwk["crv"], jwk["x"], jwk["y"]].map((part) => (typeof part === "string" ? part : "")).join(":");
}

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
  const kidByMaterial = new Map<string, string>();
  for (const key of parsed.output) {
    if (keys.has(key.kid)) {
      throw new BerthError("ERR_TRUST_KEY_INVALID", `trustedKeys lists key ID "${key.kid}" twice; key IDs must be unique`);
    }
    // One public key has one key ID and so one publisher.
    const material = keyMaterial(key.jwk);
    const other = kidByMaterial.get(material);
    if (other !== undefined) {
      throw new BerthError("ERR_TRUST_KEY_INVALID", `trustedKeys lists the same public key under key IDs "${other}" and "${key.kid}"; a key belongs to one key ID and one publisher`);
    }
    keys.set(key.kid, key);
    kidByMaterial.set(material, key.kid);
  }
  return { keys };
}
