/**
 * The one verifier of Berth packages, run by the host at publish and install and by
 * `berth verify` offline, so both give the same verdict and code. Checks that need
 * the host's hook points, capabilities, runtime or registry run only on the host.
 *
 * @module
 */
import { decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK } from "jose";
import semver from "semver";
import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { contentDigest, sha256Hex, utf8Length } from "./digest.ts";
import { issueToError } from "./issues.ts";
import { LIMITS } from "./limits.ts";
import { manifestSchema, type Manifest } from "./manifest.ts";
import { MANIFEST_TOKEN_TYPE } from "./sign.ts";
import { SIGNING_ALGORITHMS, type TrustStore, type TrustedKey } from "./trust.ts";

/** A package as sent to `POST /v1/plugins`: the signed manifest and the module sources. */
export const packageSchema = v.strictObject({
  manifest: v.pipe(v.string(), v.nonEmpty("must be the compact JWS of the signed manifest")),
  modules: v.record(v.string(), v.string()),
});

/** A package before verification. */
export type Package = v.InferOutput<typeof packageSchema>;

/** Options of {@link verifyPackage} and {@link verifySignedManifest}. */
export interface VerifyOptions {
  trust: TrustStore;
  /** The host version the manifest's `hostRange` must include. */
  hostVersion: string;
  /** The time signatures are checked against; defaults to now. */
  now?: Date;
  /** Allowed clock skew for `iat` and `exp`, in seconds. */
  clockToleranceSeconds?: number;
  /**
   * Purpose of the verdict, `publish` by default. A retired key fails `publish`
   * but passes `install` until its `notAfter`, and a revoked key fails both.
   */
  purpose?: VerifyPurpose;
}

/** Purpose of a verification: accepting a new package, or installing a published one. */
export type VerifyPurpose = "publish" | "install";

/** A package whose signature, manifest, modules and host range all checked out. */
export interface VerifiedPackage {
  manifest: Manifest;
  /** The compact JWS exactly as signed. */
  token: string;
  /** SHA-256 of the token, which binds the manifest and every module digest. */
  digest: string;
  /** SHA-256 of the manifest's canonical JSON; unchanged when the same manifest is signed again. */
  contentDigest: string;
  modules: Record<string, string>;
  kid: string;
  issuedAt: number;
  expiresAt: number | undefined;
}

/** The result of verifying a signed manifest, before its modules are checked. */
export interface VerifiedManifest {
  manifest: Manifest;
  /** SHA-256 of the manifest's canonical JSON; see {@link VerifiedPackage.contentDigest}. */
  contentDigest: string;
  kid: string;
  issuedAt: number;
  expiresAt: number | undefined;
}

/** Default clock tolerance for `iat` and `exp`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

// Header parameters that bring their own key, key location or processing rules
// (RFC 7515 section 4.1, RFC 7797). Keys only ever come from the trust store.
const FORBIDDEN_HEADERS = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64"] as const;

/** 9999-12-31T23:59:59Z in seconds: later times have no ISO 8601 form to report them in. */
export const MAX_CLAIM_SECONDS = 253_402_300_799;

const claimTimeSchema = v.pipe(
  v.number(),
  v.integer("must be a whole number of seconds since the epoch"),
  v.minValue(0, "must not be before 1970-01-01T00:00:00Z"),
  v.maxValue(MAX_CLAIM_SECONDS, "must not be after 9999-12-31T23:59:59Z"),
);

const claimsSchema = v.object({
  iss: v.string(),
  sub: v.string(),
  iat: claimTimeSchema,
  exp: v.optional(claimTimeSchema),
  manifest: v.unknown(),
});

/**
 * Verifies a whole package: size limits, shape, signature, manifest, modules and
 * host range, in that order, so nothing in the manifest is read before its
 * signature verifies. Raises a {@link BerthError} naming the first fault.
 */
export async function verifyPackage(input: unknown, options: VerifyOptions): Promise<VerifiedPackage> {
  const pkg = parsePackage(input);
  const verified = await verifySignedManifest(pkg.manifest, options);
  await checkModules(verified.manifest, pkg.modules);
  checkHostRange(verified.manifest, options.hostVersion);

  return { ...verified, token: pkg.manifest, digest: await sha256Hex(pkg.manifest), modules: pkg.modules };
}

/** Checks the package's shape and size limits before any cryptography runs. */
export function parsePackage(input: unknown): Package {
  const parsed = v.safeParse(packageSchema, input);
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_PACKAGE_INVALID", prefix: "package", quoteReceived: false });
  }
  const pkg = parsed.output;

  if (pkg.manifest.length > LIMITS.manifestBytes) {
    throw new BerthError("ERR_PACKAGE_TOO_LARGE", `package.manifest is over ${LIMITS.manifestBytes} bytes`, {
      path: "package.manifest",
    });
  }
  const names = Object.keys(pkg.modules);
  if (names.length > LIMITS.modules) {
    throw new BerthError("ERR_PACKAGE_TOO_LARGE", `package.modules has ${names.length} modules; at most ${LIMITS.modules} are allowed`, {
      path: "package.modules",
    });
  }
  let total = pkg.manifest.length;
  for (const name of names) {
    const size = utf8Length(pkg.modules[name] ?? "");
    if (size > LIMITS.moduleBytes) {
      const shown = name.length <= 128 ? JSON.stringify(name) : "(a name over 128 characters)";
      throw new BerthError("ERR_PACKAGE_TOO_LARGE", `module ${shown} is ${size} bytes; at most ${LIMITS.moduleBytes} are allowed`, {
        path: `package.modules.${name.slice(0, 128)}`,
      });
    }
    total += utf8Length(name) + size;
  }
  // The host's body limit catches this first; berth verify reads files of any size.
  if (total > LIMITS.packageBytes) {
    throw new BerthError("ERR_PACKAGE_TOO_LARGE", `the package is ${total} bytes of manifest, module names and sources; at most ${LIMITS.packageBytes} are allowed`, {
      path: "package",
    });
  }
  return pkg;
}

/**
 * Verifies a signed manifest against the trust store and returns the manifest.
 * The algorithm and publisher come from the trusted key found by `kid`.
 */
export async function verifySignedManifest(token: string, options: VerifyOptions): Promise<VerifiedManifest> {
  const key = findKey(token, options.trust);
  checkKeyStatus(key, options);
  const claims = await verifyToken(token, key, options);

  const parsed = v.safeParse(manifestSchema, claims.manifest);
  if (!parsed.success) {
    throw issueToError(parsed.issues, {
      code: "ERR_MANIFEST_INVALID",
      unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY",
      prefix: "manifest",
    });
  }
  const manifest = parsed.output;

  if (manifest.publisher !== key.publisher) {
    throw new BerthError(
      "ERR_PUBLISHER_MISMATCH",
      `manifest.publisher is "${manifest.publisher}" but key "${key.kid}" belongs to publisher "${key.publisher}"; sign with a key of that publisher`,
      { path: "manifest.publisher" },
    );
  }
  if (claims.iss !== key.publisher) {
    const shown = claims.iss.length <= 128 ? JSON.stringify(claims.iss) : "(over 128 characters)";
    throw new BerthError(
      "ERR_PUBLISHER_MISMATCH",
      `token.iss (the issuer) is ${shown} but key "${key.kid}" belongs to publisher "${key.publisher}"; sign the manifest again with berth sign`,
      { path: "token.iss" },
    );
  }
  if (claims.sub !== `${manifest.name}@${manifest.version}`) {
    throw new BerthError("ERR_MANIFEST_INVALID", `the token subject must be "${manifest.name}@${manifest.version}"; sign the manifest again`, {
      path: "token.sub",
    });
  }

  return { manifest, contentDigest: await contentDigest(manifest), kid: key.kid, issuedAt: claims.iat, expiresAt: claims.exp };
}

function findKey(token: string, trust: TrustStore): TrustedKey {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new BerthError("ERR_JWS_MALFORMED", "package.manifest is not a compact JWS; sign the manifest with berth sign", {
      path: "package.manifest",
    });
  }

  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new BerthError("ERR_JWS_HEADER_FORBIDDEN", `the protected header must not contain "${name}"; keys come only from the host's trust store`, {
        path: `header.${name}`,
      });
    }
  }
  // Only the fully specified algorithm names of RFC 9864 pass; none, HS256 and EdDSA do not.
  const alg = header["alg"];
  if (typeof alg !== "string" || !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    const shown = typeof alg === "string" && alg.length <= 32 ? JSON.stringify(alg) : "(missing or invalid)";
    throw new BerthError("ERR_JWS_ALGORITHM_NOT_ALLOWED", `the header algorithm ${shown} is not allowed; sign with one of ${SIGNING_ALGORITHMS.join(", ")}`, {
      path: "header.alg",
    });
  }
  if (header["typ"] !== MANIFEST_TOKEN_TYPE) {
    throw new BerthError("ERR_JWS_MALFORMED", `the protected header must have typ "${MANIFEST_TOKEN_TYPE}"`, { path: "header.typ" });
  }

  const kid = header["kid"];
  if (typeof kid !== "string") {
    throw new BerthError("ERR_JWS_MALFORMED", "the protected header must name the signing key in kid", { path: "header.kid" });
  }
  const key = trust.keys.get(kid);
  if (key === undefined) {
    const shown = kid.length <= 128 ? JSON.stringify(kid) : "(over 128 characters)";
    throw new BerthError("ERR_TRUST_UNKNOWN_KEY", `no trusted publisher key has key ID ${shown}; ask the host operator to trust it`, {
      path: "header.kid",
    });
  }

  if (alg !== key.alg) {
    throw new BerthError("ERR_JWS_ALGORITHM_MISMATCH", `key "${key.kid}" signs with ${key.alg}, but the header names ${alg}`, {
      path: "header.alg",
    });
  }
  return key;
}

/**
 * Rejects a revoked key for every purpose, and a retired key for publishing or,
 * once its `notAfter` has passed, for installing. Runs before any cryptography.
 */
function checkKeyStatus(key: TrustedKey, options: VerifyOptions): void {
  if (key.revokedAt !== undefined) {
    const reason = key.revokedReason === undefined ? "" : `: ${key.revokedReason}`;
    throw new BerthError("ERR_TRUST_KEY_REVOKED", `key "${key.kid}" of publisher "${key.publisher}" was revoked at ${isoSeconds(key.revokedAt)}${reason}; nothing it signed is accepted`, {
      path: "header.kid",
    });
  }
  if (key.retiredAt === undefined) return;

  if ((options.purpose ?? "publish") === "publish") {
    throw new BerthError("ERR_TRUST_KEY_RETIRED", `key "${key.kid}" was retired at ${isoSeconds(key.retiredAt)} and signs no new publishes; sign with a current key of publisher "${key.publisher}"`, {
      path: "header.kid",
    });
  }
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (key.notAfter !== undefined && nowSeconds > key.notAfter + tolerance) {
    throw new BerthError("ERR_TRUST_KEY_EXPIRED", `key "${key.kid}" is retired and its packages were installable until ${isoSeconds(key.notAfter)}; install a version signed with a current key`, {
      path: "header.kid",
    });
  }
}

async function verifyToken(token: string, key: TrustedKey, options: VerifyOptions): Promise<v.InferOutput<typeof claimsSchema>> {
  const now = options.now ?? new Date();
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const publicKey = await importJWK(key.jwk as JWK, key.alg);

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, publicKey, {
      algorithms: [key.alg],
      typ: MANIFEST_TOKEN_TYPE,
      currentDate: now,
      clockTolerance: tolerance,
      requiredClaims: ["iss", "sub", "iat"],
    }));
  } catch (error) {
    throw joseToBerth(error);
  }

  const parsed = v.safeParse(claimsSchema, payload);
  if (!parsed.success) throw issueToError(parsed.issues, { code: "ERR_JWS_MALFORMED", prefix: "token" });
  const claims = parsed.output;

  // jose checks exp; an iat in the future means the signer's clock or intent is off.
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (claims.iat > nowSeconds + tolerance) {
    throw new BerthError("ERR_SIGNATURE_NOT_YET_VALID", `the signature was issued at ${isoSeconds(claims.iat)}, later than now (${isoSeconds(nowSeconds)})`, {
      path: "token.iat",
    });
  }
  if (key.notBefore !== undefined && claims.iat < key.notBefore) {
    throw new BerthError("ERR_TRUST_KEY_NOT_YET_VALID", `key "${key.kid}" is valid from ${isoSeconds(key.notBefore)}, after the signature's issue time ${isoSeconds(claims.iat)}`, {
      path: "token.iat",
    });
  }
  if (key.notAfter !== undefined && claims.iat > key.notAfter) {
    throw new BerthError("ERR_TRUST_KEY_EXPIRED", `key "${key.kid}" stopped signing at ${isoSeconds(key.notAfter)}, before the signature's issue time ${isoSeconds(claims.iat)}`, {
      path: "token.iat",
    });
  }
  return claims;
}

function joseToBerth(error: unknown): BerthError {
  if (error instanceof joseErrors.JWTExpired) {
    return new BerthError("ERR_SIGNATURE_EXPIRED", "the signature has expired; re-sign the package with berth sign", {
      path: "token.exp",
      cause: error,
    });
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new BerthError("ERR_JWS_SIGNATURE_INVALID", "the signature does not verify with the trusted key; the manifest was changed after signing or signed with another key", {
      path: "package.manifest",
      cause: error,
    });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new BerthError("ERR_JWS_MALFORMED", `the token claim "${error.claim}" is invalid: ${error.reason}`, {
      path: `token.${error.claim}`,
      cause: error,
    });
  }
  return new BerthError("ERR_JWS_MALFORMED", "package.manifest is not a valid signed manifest", {
    path: "package.manifest",
    cause: error,
  });
}

/** Checks that the package contains exactly the modules the manifest lists, with matching digests and sizes. */
export async function checkModules(manifest: Manifest, modules: Record<string, string>): Promise<void> {
  for (const name of Object.keys(manifest.modules)) {
    if (!Object.hasOwn(modules, name)) {
      throw new BerthError("ERR_MODULE_MISSING", `module ${JSON.stringify(name)} is listed in the manifest but missing from the package`, {
        path: `package.modules.${name}`,
      });
    }
  }
  for (const name of Object.keys(modules)) {
    if (!Object.hasOwn(manifest.modules, name)) {
      const shown = name.length <= 128 ? JSON.stringify(name) : "(a name over 128 characters)";
      throw new BerthError("ERR_MODULE_UNDECLARED", `module ${shown} is in the package but not listed in the signed manifest`, {
        path: "package.modules",
      });
    }
  }
  for (const [name, entry] of Object.entries(manifest.modules)) {
    const digest = await sha256Hex(modules[name] ?? "");
    if (digest !== entry.sha256) {
      throw new BerthError("ERR_MODULE_DIGEST_MISMATCH", `module ${JSON.stringify(name)} does not match its signed SHA-256 digest; rebuild and sign again`, {
        path: `package.modules.${name}`,
      });
    }
    // The digest matches, so the source is what was signed and the declared size is wrong.
    const size = utf8Length(modules[name] ?? "");
    if (size !== entry.size) {
      const path = `manifest.modules.${name}.size`;
      throw new BerthError("ERR_MODULE_DIGEST_MISMATCH", `${path} is ${entry.size}, but module ${JSON.stringify(name)} is ${size} bytes; rebuild and sign again`, { path });
    }
  }
}

/** Checks that the host version lies in the manifest's supported host range. */
export function checkHostRange(manifest: Manifest, hostVersion: string): void {
  if (semver.satisfies(hostVersion, manifest.hostRange)) return;
  throw new BerthError(
    "ERR_HOST_RANGE_UNSATISFIED",
    `${manifest.name}@${manifest.version} supports hosts ${manifest.hostRange}, but this host is version ${hostVersion}`,
    { path: "manifest.hostRange" },
  );
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
