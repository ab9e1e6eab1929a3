/**
 * The Berth package format: manifest schema, signing and the shared verifier.
 *
 * @module
 */
export { sha256Hex, utf8Length } from "./digest.ts";
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
  SIGNING_ALGORITHMS,
  createTrustStore,
  trustedKeySchema,
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
} from "./verify.ts";
