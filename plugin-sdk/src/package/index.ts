/**
 * The Berth package format: manifest schema, signing and the shared verifier.
 *
 * @module
 */
export { canonicalJson, contentDigest, sha256Hex, utf8Length } from "./digest.ts";
export { checkManifestForProfile, hostProfileSchema, parseHostProfile, type HostProfile } from "./host-profile.ts";
export { issueToError } from "./issues.ts";
export { LIMITS } from "./limits.ts";
export {
  LIFECYCLE_EVENTS,
  PRIORITY_RANGE,
  manifestSchema,
  rangeSchema,
  versionSchema,
  type CapabilityRequest,
  type ConfigField,
  type HookSubscription,
  type LifecycleEvent,
  type Manifest,
  type ManifestInput,
} from "./manifest.ts";
export * from "./names.ts";
export { MANIFEST_TOKEN_TYPE, signManifest, type SignOptions, type SigningKey } from "./sign.ts";
export {
  KEY_ID,
  SIGNING_ALGORITHMS,
  createTrustStore,
  keyMaterial,
  keyStatus,
  trustedKeySchema,
  type KeyStatus,
  type SigningAlgorithm,
  type TrustStore,
  type TrustedKey,
} from "./trust.ts";
export {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  checkHostRange,
  checkModules,
  packageSchema,
  parsePackage,
  verifyPackage,
  verifySignedManifest,
  type Package,
  type VerifiedManifest,
  type VerifiedPackage,
  type VerifyOptions,
  type VerifyPurpose,
} from "./verify.ts";
