/**
 * The security suite: bad packages and manifests, each with the error code and
 * HTTP status the host must return. One definition runs in two places: against
 * the host's `POST /v1/plugins` in workerd (`host/test/security.test.ts`) and
 * against `berth verify` as a process in Node (`verify-parity.test.ts`), so both
 * must give the same verdict and code.
 *
 * A case with `hostOnly` needs state only the host has: the HTTP body limits, or
 * the registry's held versions and yanks. Its `hostOnly` text says which. The
 * host's capabilities, hook points and runtime date reach `berth verify` through
 * the host profile (`--profile`).
 *
 * Plain TypeScript on jose and WebCrypto, so it runs in Node and in workerd.
 *
 * @module
 */
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

import type { ErrorCode } from "../../plugin-sdk/src/errors.ts";
import { sha256Hex } from "../../plugin-sdk/src/package/digest.ts";
import { signManifest, type SigningKey } from "../../plugin-sdk/src/package/sign.ts";
import type { SigningAlgorithm } from "../../plugin-sdk/src/package/trust.ts";

/** The host version both sides check `hostRange` against; the demo host's version. */
export const HOST_VERSION = "0.1.0";

/** The publisher every suite key but `otherPublisher` belongs to. */
export const PUBLISHER = "sec-test";

/** One suite key: its private signing key and its trusted-key entry. */
export interface SuiteKey {
  signing: SigningKey;
  /** The entry for a trust store, without retirement or revocation. */
  trusted: { kid: string; publisher: string; alg: SigningAlgorithm; jwk: JWK; notBefore?: number; notAfter?: number };
}

/** The keys the suite signs with, each in a different state in the trust store. */
export interface SuiteKeys {
  /** Active Ed25519 key of `sec-test`. */
  main: SuiteKey;
  /** Active ES256 key of `sec-test`. */
  es256: SuiteKey;
  /** Retired: signs no new publishes. */
  retired: SuiteKey;
  /** Revoked. */
  revoked: SuiteKey;
  /** Valid only from a day after the suite starts. */
  notYetValid: SuiteKey;
  /** Valid only until a day before the suite starts. */
  ended: SuiteKey;
  /** Active key of another publisher, `sec-other`. */
  otherPublisher: SuiteKey;
  /** Not in the trust store at all. */
  untrusted: SuiteKey;
}

/** The reason the suite gives when it revokes `revoked`. */
export const REVOCATION_REASON = "security suite: key material published by mistake";

/** The reason the suite gives when it yanks the yanked fixture. */
export const YANK_REASON = "security suite: yanked fixture";

const DAY = 86_400;

/** Generates a key pair and returns it as a suite key; window times are seconds since the epoch. */
export async function makeKey(kid: string, alg: SigningAlgorithm, publisher: string, window: { notBefore?: number; notAfter?: number } = {}): Promise<SuiteKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    signing: { kid, alg, jwk: await exportJWK(privateKey) },
    trusted: { kid, publisher, alg, jwk: publicJwk, ...window },
  };
}

/** Generates fresh suite keys; `now` is in seconds since the epoch. */
export async function createSuiteKeys(now: number): Promise<SuiteKeys> {
  return {
    main: await makeKey("sec-main", "Ed25519", PUBLISHER),
    es256: await makeKey("sec-es256", "ES256", PUBLISHER),
    retired: await makeKey("sec-retired", "Ed25519", PUBLISHER),
    revoked: await makeKey("sec-revoked", "Ed25519", PUBLISHER),
    notYetValid: await makeKey("sec-not-yet", "Ed25519", PUBLISHER, { notBefore: now + DAY }),
    ended: await makeKey("sec-ended", "Ed25519", PUBLISHER, { notBefore: now - 30 * DAY, notAfter: now - DAY }),
    otherPublisher: await makeKey("sec-other-1", "Ed25519", "sec-other"),
    untrusted: await makeKey("sec-main-copy", "Ed25519", PUBLISHER),
  };
}

/**
 * Returns the trust file `berth verify` gets: every suite key but `untrusted`,
 * with `retired` retired and `revoked` revoked at `now`. The host reaches the
 * same state through its `/v1/trust` routes.
 */
export function trustFileEntries(keys: SuiteKeys, now: number): unknown[] {
  return [
    keys.main.trusted,
    keys.es256.trusted,
    { ...keys.retired.trusted, retiredAt: now },
    { ...keys.revoked.trusted, revokedAt: now, revokedReason: REVOCATION_REASON },
    keys.notYetValid.trusted,
    keys.ended.trusted,
    keys.otherPublisher.trusted,
  ];
}

/** A request body: JSON the CLI can read from a file too, or raw text only the host gets. */
export type CaseBody = { json: unknown } | { raw: string };

/** Packages the host publishes before the suite runs; host-only cases refer to them. */
export interface Fixtures {
  /** Published and installed in the canary tenant. */
  canary: { manifest: string; modules: Record<string, string> };
  /** Published, then yanked. */
  yanked: { manifest: string; modules: Record<string, string> };
}

/** What a case builder gets. */
export interface CaseContext {
  keys: SuiteKeys;
  fixtures: Fixtures;
  /** Seconds since the epoch. */
  now: number;
}

/** Which threat or check a case exercises. */
export type CaseKind = "limits" | "shape" | "header" | "algorithm" | "signature" | "freshness" | "key" | "claims" | "manifest" | "version" | "names" | "modules" | "host" | "registry";

/** One bad package or manifest and the response it must get. */
export interface SecurityCase {
  name: string;
  kind: CaseKind;
  code: ErrorCode;
  /** HTTP status of the host's response. */
  status: number;
  /** Why only the host can run this case; unset when `berth verify` runs it too. */
  hostOnly?: string;
  /** The field the error must name in its `path`, and `berth verify` in its message; unchecked when unset. */
  path?: string;
  build(context: CaseContext): Promise<CaseBody>;
}

// The statuses this suite expects per code, written down here rather than read
// from the host, so the suite checks the host's mapping instead of copying it.
const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_REQUEST_NOT_JSON: 400,
  ERR_REQUEST_TOO_DEEP: 400,
  ERR_REQUEST_TOO_LARGE: 413,
  ERR_PACKAGE_INVALID: 400,
  ERR_PACKAGE_TOO_LARGE: 413,
  ERR_JWS_MALFORMED: 400,
  ERR_JWS_HEADER_FORBIDDEN: 400,
  ERR_MANIFEST_INVALID: 400,
  ERR_MANIFEST_UNKNOWN_KEY: 400,
  ERR_REGISTRY_VERSION_CONFLICT: 409,
  ERR_PACKAGE_YANKED: 410,
};

function status(code: ErrorCode): number {
  return STATUS[code] ?? 422;
}

// ---- Building packages --------------------------------------------------------------

/** Returns a valid module source, distinct per label, so no two cases share a stored module. */
export function moduleSource(label: string): string {
  return `import { WorkerEntrypoint } from "cloudflare:workers";\n// ${label}\nexport class Hooks extends WorkerEntrypoint {\n  async tag(draft) { return draft; }\n}\n`;
}

/** Returns a valid manifest for `name` whose one module is `source`. */
export async function baseManifest(name: string, source: string): Promise<Record<string, unknown>> {
  return {
    name,
    version: "1.0.0",
    publisher: PUBLISHER,
    hostRange: "^0.1.0",
    compatibilityDate: "2026-11-01",
    main: "index.js",
    modules: { "index.js": { sha256: await sha256Hex(source), size: new TextEncoder().encode(source).byteLength } },
  };
}

/** Signs a manifest the way `berth sign` does and returns the package. */
export async function signedPackage(
  manifest: Record<string, unknown>,
  key: SigningKey,
  modules: Record<string, string>,
  options: { now?: number; expiresInSeconds?: number } = {},
): Promise<{ manifest: string; modules: Record<string, string> }> {
  const signOptions: { now?: Date; expiresInSeconds?: number } = {};
  if (options.now !== undefined) signOptions.now = new Date(options.now * 1000);
  if (options.expiresInSeconds !== undefined) signOptions.expiresInSeconds = options.expiresInSeconds;
  return { manifest: await signManifest(manifest as never, key, signOptions), modules };
}

/** Returns a valid package for `name`, signed with `key` (the main key by default). */
export async function validPackage(context: CaseContext, name: string, overrides: Record<string, unknown> = {}, key?: SigningKey): Promise<{ manifest: string; modules: Record<string, string> }> {
  const source = moduleSource(name);
  const manifest = { ...(await baseManifest(name, source)), ...overrides };
  return signedPackage(manifest, key ?? context.keys.main.signing, { "index.js": source });
}

const encoder = new TextEncoder();

/**
 * Builds a compact JWS from any header and payload, signed with WebCrypto, so a
 * case can carry headers jose refuses to produce (crit, b64, jwk).
 */
export async function rawJws(header: Record<string, unknown>, payload: unknown, key: SigningKey | null): Promise<string> {
  const signingInput = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(typeof payload === "string" ? payload : JSON.stringify(payload))}`;
  if (key === null) return `${signingInput}.`;
  const cryptoKey = (await importJWK(key.jwk, key.alg)) as CryptoKey;
  const algorithm = key.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  const signature = new Uint8Array(await crypto.subtle.sign(algorithm, cryptoKey, encoder.encode(signingInput)));
  return `${signingInput}.${base64url.encode(signature)}`;
}

/** Returns the claims `berth sign` puts in a token, for a manifest. */
function claimsFor(manifest: Record<string, unknown>, now: number): Record<string, unknown> {
  return { manifest, iss: manifest["publisher"], sub: `${String(manifest["name"])}@${String(manifest["version"])}`, iat: now };
}

/** Builds a package whose token has `header` (merged over a valid one) and `claims` (merged over valid ones). */
async function customToken(
  context: CaseContext,
  name: string,
  options: { header?: Record<string, unknown>; claims?: Record<string, unknown>; omitHeader?: string[]; omitClaims?: string[]; key?: SigningKey | null },
): Promise<CaseBody> {
  const source = moduleSource(name);
  const manifest = await baseManifest(name, source);
  const key = options.key === undefined ? context.keys.main.signing : options.key;
  const header: Record<string, unknown> = { alg: "Ed25519", kid: context.keys.main.signing.kid, typ: "berth-manifest+jwt", ...options.header };
  for (const field of options.omitHeader ?? []) delete header[field];
  const claims: Record<string, unknown> = { ...claimsFor(manifest, context.now), ...options.claims };
  for (const field of options.omitClaims ?? []) delete claims[field];
  return { json: { manifest: await rawJws(header, claims, key), modules: { "index.js": source } } };
}

/** Builds a package from a manifest changed by `change`, signed with the main key. */
async function manifestCase(context: CaseContext, name: string, change: (manifest: Record<string, unknown>) => void): Promise<CaseBody> {
  const source = moduleSource(name);
  const manifest = await baseManifest(name, source);
  change(manifest);
  return { json: await signedPackage(manifest, context.keys.main.signing, { "index.js": source }) };
}

/** Builds a valid package and then changes the package object. */
async function packageCase(context: CaseContext, name: string, change: (pkg: { manifest: string; modules: Record<string, string> }) => unknown): Promise<CaseBody> {
  const pkg = await validPackage(context, name);
  const changed = change(pkg);
  return { json: changed === undefined ? pkg : changed };
}

function replaceSegment(token: string, index: number, value: string): string {
  const parts = token.split(".");
  parts[index] = value;
  return parts.join(".");
}

/** Returns a valid hook subscription. */
const HOOK = { entrypoint: "Hooks", method: "tag" };

// ---- The cases --------------------------------------------------------------------

function securityCase(
  name: string,
  kind: CaseKind,
  code: ErrorCode,
  build: (context: CaseContext, slug: string) => Promise<CaseBody>,
  hostOnly?: string,
  path?: string,
): SecurityCase {
  const slug = `sec-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 50)}`;
  const entry: SecurityCase = { name, kind, code, status: status(code), build: (context) => build(context, slug) };
  if (hostOnly !== undefined) entry.hostOnly = hostOnly;
  if (path !== undefined) entry.path = path;
  return entry;
}

const BODY_LIMIT = "the body limits apply to the HTTP request; berth verify reads a file";

/** Every case of the suite. */
export const SECURITY_CASES: readonly SecurityCase[] = [
  // Body and package limits.
  securityCase("body is not JSON", "limits", "ERR_REQUEST_NOT_JSON", async () => ({ raw: '{"manifest": "a.b.c", "modules": ' }), BODY_LIMIT),
  securityCase("body nests 100 levels deep", "limits", "ERR_REQUEST_TOO_DEEP", async () => ({ raw: `{"manifest":"a.b.c","modules":{"x":${"[".repeat(100)}${"]".repeat(100)}}}` }), BODY_LIMIT),
  securityCase("body over 1 MiB", "limits", "ERR_REQUEST_TOO_LARGE", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, modules: { ...pkg.modules, "pad-a.js": "a".repeat(400_000), "pad-b.js": "b".repeat(400_000), "pad-c.js": "c".repeat(400_000) } })), BODY_LIMIT),
  securityCase("module over 512 KiB", "limits", "ERR_PACKAGE_TOO_LARGE", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, modules: { "index.js": "x".repeat(512 * 1024 + 1) } }))),
  securityCase("33 modules", "limits", "ERR_PACKAGE_TOO_LARGE", (context, slug) =>
    packageCase(context, slug, (pkg) => ({ ...pkg, modules: Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`m${index}.js`, "export {};"])) })),
  ),
  securityCase("signed manifest over 32 KiB", "limits", "ERR_PACKAGE_TOO_LARGE", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["description"] = "d".repeat(40_000)))),

  // Package shape.
  securityCase("package is an array", "shape", "ERR_PACKAGE_INVALID", async (context, slug) => ({ json: [await validPackage(context, slug)] })),
  securityCase("package without modules", "shape", "ERR_PACKAGE_INVALID", (context, slug) => packageCase(context, slug, (pkg) => ({ manifest: pkg.manifest }))),
  securityCase("package with an extra field", "shape", "ERR_PACKAGE_INVALID", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, signature: "extra" }))),
  securityCase("module source is a number", "shape", "ERR_PACKAGE_INVALID", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, modules: { "index.js": 42 } }))),
  securityCase("empty signed manifest", "shape", "ERR_PACKAGE_INVALID", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, manifest: "" }))),

  // Token structure and protected header.
  securityCase("manifest is not a JWS", "header", "ERR_JWS_MALFORMED", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, manifest: "not-a-jws" }))),
  securityCase("manifest in JWS JSON serialization", "header", "ERR_JWS_MALFORMED", (context, slug) =>
    packageCase(context, slug, (pkg) => {
      const [protectedHeader, payload, signature] = pkg.manifest.split(".");
      return { ...pkg, manifest: JSON.stringify({ protected: protectedHeader, payload, signature }) };
    }),
  ),
  securityCase("header embeds a jwk", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) =>
    customToken(context, slug, { header: { jwk: context.keys.untrusted.trusted.jwk }, key: context.keys.untrusted.signing }),
  ),
  securityCase("header names a jku", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { jku: "https://attacker.example/jwks.json" } })),
  securityCase("header names an x5u", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { x5u: "https://attacker.example/cert.pem" } })),
  securityCase("header carries an x5c", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { x5c: ["MIIBszCCAVmgAwIBAgIU"] } })),
  securityCase("header carries an x5t", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { x5t: "dGh1bWJwcmludA" } })),
  securityCase("header lists crit", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { crit: ["exp"] } })),
  securityCase("header sets b64 false", "header", "ERR_JWS_HEADER_FORBIDDEN", (context, slug) => customToken(context, slug, { header: { b64: false } })),
  securityCase("header without typ", "header", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { omitHeader: ["typ"] })),
  securityCase("header typ is JWT", "header", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { header: { typ: "JWT" } })),
  securityCase("header without kid", "header", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { omitHeader: ["kid"] })),
  securityCase("header kid is a number", "header", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { header: { kid: 7 } })),
  securityCase("header kid is unknown", "key", "ERR_TRUST_UNKNOWN_KEY", (context, slug) => validPackage(context, slug, {}, context.keys.untrusted.signing).then((json) => ({ json }))),

  // Algorithms: only Ed25519 and ES256, and only the trusted key's own.
  securityCase("alg none without signature", "algorithm", "ERR_JWS_ALGORITHM_NOT_ALLOWED", (context, slug) => customToken(context, slug, { header: { alg: "none" }, key: null })),
  securityCase("alg HS256 keyed with the public key", "algorithm", "ERR_JWS_ALGORITHM_NOT_ALLOWED", async (context, slug) => {
    const body = (await customToken(context, slug, { header: { alg: "HS256" }, key: null })) as { json: { manifest: string; modules: Record<string, string> } };
    const signingInput = body.json.manifest.slice(0, -1);
    const secret = await crypto.subtle.importKey("raw", encoder.encode(JSON.stringify(context.keys.main.trusted.jwk)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", secret, encoder.encode(signingInput)));
    return { json: { ...body.json, manifest: `${signingInput}.${base64url.encode(mac)}` } };
  }),
  securityCase("alg EdDSA, the deprecated name", "algorithm", "ERR_JWS_ALGORITHM_NOT_ALLOWED", (context, slug) => customToken(context, slug, { header: { alg: "EdDSA" } })),
  securityCase("alg RS256", "algorithm", "ERR_JWS_ALGORITHM_NOT_ALLOWED", (context, slug) => customToken(context, slug, { header: { alg: "RS256" } })),
  securityCase("header without alg", "algorithm", "ERR_JWS_ALGORITHM_NOT_ALLOWED", (context, slug) => customToken(context, slug, { omitHeader: ["alg"] })),
  securityCase("alg ES256 on an Ed25519 key", "algorithm", "ERR_JWS_ALGORITHM_MISMATCH", (context, slug) => customToken(context, slug, { header: { alg: "ES256" }, key: context.keys.es256.signing })),
  securityCase("alg Ed25519 on an ES256 key", "algorithm", "ERR_JWS_ALGORITHM_MISMATCH", (context, slug) =>
    customToken(context, slug, { header: { alg: "Ed25519", kid: context.keys.es256.signing.kid } }),
  ),

  // Signatures.
  securityCase("signed by an untrusted key under a trusted kid", "signature", "ERR_JWS_SIGNATURE_INVALID", (context, slug) =>
    customToken(context, slug, { key: context.keys.untrusted.signing }),
  ),
  securityCase("payload changed after signing", "signature", "ERR_JWS_SIGNATURE_INVALID", async (context, slug) => {
    const pkg = await validPackage(context, slug);
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(pkg.manifest.split(".")[1] as string))) as { manifest: Record<string, unknown> };
    claims.manifest["description"] = "changed after signing";
    return { json: { ...pkg, manifest: replaceSegment(pkg.manifest, 1, base64url.encode(JSON.stringify(claims))) } };
  }),
  securityCase("header changed after signing", "signature", "ERR_JWS_SIGNATURE_INVALID", async (context, slug) => {
    const pkg = await validPackage(context, slug);
    const header = { alg: "Ed25519", kid: context.keys.main.signing.kid, typ: "berth-manifest+jwt", note: "added after signing" };
    return { json: { ...pkg, manifest: replaceSegment(pkg.manifest, 0, base64url.encode(JSON.stringify(header))) } };
  }),
  securityCase("signature stripped", "signature", "ERR_JWS_SIGNATURE_INVALID", async (context, slug) => {
    const pkg = await validPackage(context, slug);
    return { json: { ...pkg, manifest: replaceSegment(pkg.manifest, 2, "") } };
  }),
  securityCase("ES256 signature of another payload", "signature", "ERR_JWS_SIGNATURE_INVALID", async (context, slug) => {
    const pkg = await validPackage(context, slug, {}, context.keys.es256.signing);
    const other = await validPackage(context, `${slug}-other`, {}, context.keys.es256.signing);
    return { json: { ...pkg, manifest: replaceSegment(pkg.manifest, 2, other.manifest.split(".")[2] as string) } };
  }),

  // Freshness: iat and exp, with the verifier's clock tolerance of 60 seconds.
  securityCase("signature expired an hour ago", "freshness", "ERR_SIGNATURE_EXPIRED", async (context, slug) => {
    const source = moduleSource(slug);
    return { json: await signedPackage(await baseManifest(slug, source), context.keys.main.signing, { "index.js": source }, { now: context.now - 7200, expiresInSeconds: 3600 }) };
  }),
  securityCase("signature issued an hour from now", "freshness", "ERR_SIGNATURE_NOT_YET_VALID", async (context, slug) => {
    const source = moduleSource(slug);
    return { json: await signedPackage(await baseManifest(slug, source), context.keys.main.signing, { "index.js": source }, { now: context.now + 3600 }) };
  }),
  securityCase("token without iat", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { omitClaims: ["iat"] })),
  securityCase("token iat is a string", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { claims: { iat: "yesterday" } })),
  securityCase("token iat is a fraction", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { claims: { iat: 1.5 } }), undefined, "token.iat"),
  securityCase("token iat before 1970", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { claims: { iat: -1 } }), undefined, "token.iat"),
  securityCase("token exp after year 9999", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { claims: { exp: 1e20 } }), undefined, "token.exp"),
  securityCase("token exp is a fraction", "freshness", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { claims: { exp: context.now + 3600.5 } }), undefined, "token.exp"),

  // Key states in the trust store.
  securityCase("signed by a retired key", "key", "ERR_TRUST_KEY_RETIRED", (context, slug) => validPackage(context, slug, {}, context.keys.retired.signing).then((json) => ({ json }))),
  securityCase("signed by a revoked key", "key", "ERR_TRUST_KEY_REVOKED", (context, slug) => validPackage(context, slug, {}, context.keys.revoked.signing).then((json) => ({ json }))),
  securityCase("signed before the key's notBefore", "key", "ERR_TRUST_KEY_NOT_YET_VALID", (context, slug) =>
    validPackage(context, slug, {}, context.keys.notYetValid.signing).then((json) => ({ json })),
  ),
  securityCase("signed after the key's notAfter", "key", "ERR_TRUST_KEY_EXPIRED", (context, slug) => validPackage(context, slug, {}, context.keys.ended.signing).then((json) => ({ json }))),
  securityCase(
    "manifest publisher differs from the key's",
    "key",
    "ERR_PUBLISHER_MISMATCH",
    (context, slug) => validPackage(context, slug, {}, context.keys.otherPublisher.signing).then((json) => ({ json })),
    undefined,
    "manifest.publisher",
  ),

  // Claims beside the manifest.
  securityCase("token iss is another publisher", "claims", "ERR_PUBLISHER_MISMATCH", (context, slug) => customToken(context, slug, { claims: { iss: "sec-other" } }), undefined, "token.iss"),
  securityCase("token iss is unknown", "claims", "ERR_PUBLISHER_MISMATCH", (context, slug) => customToken(context, slug, { claims: { iss: "evil" } }), undefined, "token.iss"),
  securityCase("token sub names another plugin", "claims", "ERR_MANIFEST_INVALID", (context, slug) => customToken(context, slug, { claims: { sub: "someone-else@1.0.0" } })),
  securityCase("token without manifest claim", "claims", "ERR_JWS_MALFORMED", (context, slug) => customToken(context, slug, { omitClaims: ["manifest"] })),

  // Manifest schema.
  securityCase("manifest without name", "manifest", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => delete manifest["name"])),
  securityCase("manifest with an unknown key", "manifest", "ERR_MANIFEST_UNKNOWN_KEY", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["permissions"] = ["all"]))),
  securityCase("description over 500 characters", "manifest", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["description"] = "d".repeat(501)))),
  securityCase("compatibility date not a date", "manifest", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["compatibilityDate"] = "2026-13-45"))),
  securityCase("hook method named then", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["hooks"] = { "ticket.created": { entrypoint: "Hooks", method: "then" } })),
  ),
  securityCase("entrypoint name with a dollar sign", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["hooks"] = { "ticket.created": { entrypoint: "Ho$oks", method: "tag" } })),
  ),
  securityCase("65 config fields", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["config"] = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`field${index}`, { type: "string" }])))),
  ),
  securityCase("network without hosts", "manifest", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["capabilities"] = { network: {} }))),
  securityCase("storage with hosts", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["capabilities"] = { storage: { hosts: ["a.example.com"] } })),
  ),
  securityCase("config default of another type", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["config"] = { retries: { type: "number", default: "5" } })),
    undefined,
    "manifest.config.retries.default",
  ),
  securityCase("config list default not a list", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["config"] = { labels: { type: "string[]", default: "urgent" } })),
    undefined,
    "manifest.config.labels.default",
  ),
  securityCase("secret config field with a default", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["config"] = { apiToken: { type: "string", secret: true, default: "s3cret" } })),
    undefined,
    "manifest.config.apiToken.default",
  ),
  ...[
    ["*.com", "a wildcard over a top-level domain"],
    ["localhost", "localhost"],
    ["api.localhost:8080", "a localhost subdomain"],
    ["127.0.0.1", "a loopback address"],
    ["10.0.0.1", "a private address"],
    ["169.254.169.254", "the metadata address"],
    ["*.0.0.1", "a wildcard over IP addresses"],
    ["2130706433", "a decimal IP address"],
    ["0x7f000001", "a hexadecimal IP address"],
  ].map(([host, label]) =>
    securityCase(`network host is ${label as string}`, "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
      manifestCase(context, slug, (manifest) => (manifest["capabilities"] = { network: { hosts: ["api.example.com", host as string] } })),
      undefined,
      "manifest.capabilities.network.hosts.1",
    ),
  ),
  securityCase("module digest in upper case", "manifest", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => {
      const modules = manifest["modules"] as Record<string, { sha256: string; size: number }>;
      (modules["index.js"] as { sha256: string }).sha256 = (modules["index.js"] as { sha256: string }).sha256.toUpperCase();
    }),
  ),

  // Versions and ranges.
  securityCase("version with a leading v", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["version"] = "v1.0.0"))),
  securityCase("version with build metadata", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["version"] = "1.0.0+build.7"))),
  securityCase("version over 64 characters", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["version"] = `1.0.0-${"a".repeat(70)}`))),
  securityCase("hostRange with build metadata", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["hostRange"] = "^0.1.0+build"))),
  securityCase("hostRange over 128 characters", "version", "ERR_MANIFEST_INVALID", (context, slug) =>
    manifestCase(context, slug, (manifest) => (manifest["hostRange"] = Array.from({ length: 30 }, () => ">=0.1.0").join(" "))),
  ),
  securityCase("hostRange not a range", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["hostRange"] = "latest"))),
  securityCase("hostRange empty", "version", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["hostRange"] = "")), undefined, "manifest.hostRange"),
  securityCase("hostRange excludes the host", "version", "ERR_HOST_RANGE_UNSATISFIED", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["hostRange"] = ">=9.0.0"))),

  // Module names, which become keys of the loaded Worker's module map.
  ...[
    ["../escape.js", "parent segment"],
    ["/absolute.js", "absolute path"],
    ["dir\\file.js", "backslash"],
    ["a/./b.js", "dot segment"],
    ["index.ts", "TypeScript name"],
    ["C:/drive.js", "drive letter"],
    ["%2e%2e/encoded.js", "percent-encoded dots"],
  ].map(([moduleName, label]) =>
    securityCase(`module name with a ${label as string}`, "names", "ERR_MANIFEST_INVALID", (context, slug) =>
      manifestCase(context, slug, (manifest) => {
        const modules = manifest["modules"] as Record<string, unknown>;
        modules[moduleName as string] = modules["index.js"];
        delete modules["index.js"];
        manifest["main"] = moduleName;
      }),
    ),
  ),
  securityCase("main not among the modules", "names", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["main"] = "other.js"))),

  // Modules against their signed digests.
  securityCase("listed module missing", "modules", "ERR_MODULE_MISSING", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, modules: {} }))),
  securityCase("unlisted module added", "modules", "ERR_MODULE_UNDECLARED", (context, slug) => packageCase(context, slug, (pkg) => ({ ...pkg, modules: { ...pkg.modules, "extra.js": "export {};" } }))),
  securityCase("unlisted module with a parent path", "modules", "ERR_MODULE_UNDECLARED", (context, slug) =>
    packageCase(context, slug, (pkg) => ({ ...pkg, modules: { ...pkg.modules, "../../etc/passwd.js": "export {};" } })),
  ),
  securityCase("module size differs from the signed size", "modules", "ERR_MODULE_DIGEST_MISMATCH", (context, slug) =>
    manifestCase(context, slug, (manifest) => {
      const modules = manifest["modules"] as Record<string, { sha256: string; size: number }>;
      (modules["index.js"] as { size: number }).size += 1;
    }),
    undefined,
    "manifest.modules.index.js.size",
  ),
  securityCase("module changed after signing", "modules", "ERR_MODULE_DIGEST_MISMATCH", (context, slug) =>
    packageCase(context, slug, (pkg) => ({ ...pkg, modules: { "index.js": `${pkg.modules["index.js"] ?? ""}\nglobalThis.injected = true;\n` } })),
  ),

  // Checks against the host's profile, then checks that need the registry's state.
  securityCase("unknown capability", "host", "ERR_MANIFEST_UNKNOWN_CAPABILITY", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["capabilities"] = { "payroll:write": {} }))),
  securityCase("unknown hook point", "host", "ERR_MANIFEST_UNKNOWN_HOOK", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["hooks"] = { "invoice.paid": HOOK }))),
  securityCase("compatibility date newer than the runtime", "host", "ERR_MANIFEST_INVALID", (context, slug) => manifestCase(context, slug, (manifest) => (manifest["compatibilityDate"] = "2099-01-01"))),
  securityCase("different content under a held version", "registry", "ERR_REGISTRY_VERSION_CONFLICT", async (context) => {
    const source = moduleSource("canary, changed");
    const manifest = { ...(await baseManifest("sec-canary", source)), description: "not the published content" };
    return { json: await signedPackage(manifest, context.keys.main.signing, { "index.js": source }) };
  }, "the registry's held versions"),
  securityCase("same content as a yanked version", "registry", "ERR_PACKAGE_YANKED", async (context) => ({ json: context.fixtures.yanked }), "the registry's yanks"),
];

/** Builds the fixtures the host publishes before the suite runs. */
export async function createFixtures(keys: SuiteKeys): Promise<Fixtures> {
  const context = { keys } as CaseContext;
  return {
    canary: await validPackage(context, "sec-canary", { hooks: { "ticket.beforeCreate": HOOK } }),
    yanked: await validPackage(context, "sec-yanked"),
  };
}
