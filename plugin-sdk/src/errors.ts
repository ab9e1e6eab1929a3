/**
 * The one error type of Berth, shared by the host, the SDK and the `berth` CLI, so
 * an author sees the same code offline as the host returns.
 *
 * @module
 */

/** Every error code Berth raises, with the condition it stands for. */
export const ERROR_CODES = {
  // Requests and routing.
  ERR_REQUEST_INVALID: "the request body or a parameter does not match its schema",
  ERR_REQUEST_NOT_JSON: "the request body is not valid JSON",
  ERR_REQUEST_TOO_LARGE: "the request body exceeds the size limit",
  ERR_REQUEST_TOO_DEEP: "the request body nests arrays and objects deeper than the limit",
  ERR_ROUTE_NOT_FOUND: "no route matches the method and path",
  ERR_NOT_FOUND: "an app resource, such as a ticket, does not exist",
  ERR_INTERNAL: "an unexpected failure in the host; the message holds no detail",
  ERR_AUTH_REQUIRED: "the route needs an Authorization: Bearer token and none was sent",
  ERR_AUTH_INVALID: "the bearer token is malformed, expired, or not signed by a key the host trusts",
  ERR_AUTH_FORBIDDEN: "the token's role or tenant does not allow this request",

  // Packages and manifests.
  ERR_PACKAGE_INVALID: "the package does not match the package schema",
  ERR_PACKAGE_TOO_LARGE: "the package, a module or the manifest exceeds a size limit",
  ERR_MANIFEST_INVALID: "the signed manifest does not match the manifest schema",
  ERR_MANIFEST_UNKNOWN_KEY: "the manifest contains a key the schema does not define",
  ERR_MANIFEST_UNKNOWN_CAPABILITY: "the manifest requests a capability the host does not offer",
  ERR_MANIFEST_UNKNOWN_HOOK: "the manifest subscribes to a hook point the host does not declare",
  ERR_MODULE_MISSING: "a module listed in the manifest is not in the package",
  ERR_MODULE_UNDECLARED: "the package holds a module the manifest does not list",
  ERR_MODULE_DIGEST_MISMATCH: "a module's SHA-256 digest or byte size differs from the signed manifest",
  ERR_HOST_RANGE_UNSATISFIED: "the plugin's supported host range excludes this host's version",

  // Signatures and trust.
  ERR_JWS_MALFORMED: "the signed manifest is not a compact JWS with a valid protected header",
  ERR_JWS_HEADER_FORBIDDEN: "the protected header carries a parameter Berth never accepts",
  ERR_JWS_ALGORITHM_NOT_ALLOWED: "the header algorithm is not one Berth accepts (Ed25519, ES256)",
  ERR_JWS_ALGORITHM_MISMATCH: "the header algorithm differs from the trusted key's algorithm",
  ERR_JWS_SIGNATURE_INVALID: "the signature does not verify with the trusted key",
  ERR_SIGNATURE_EXPIRED: "the signature's expiry time has passed",
  ERR_SIGNATURE_NOT_YET_VALID: "the signature's issued-at time is in the future",
  ERR_TRUST_UNKNOWN_KEY: "no trusted publisher key has the header's key ID",
  ERR_TRUST_KEY_INVALID: "a trusted key in the host configuration is malformed",
  ERR_TRUST_KEY_NOT_YET_VALID: "the signature was made before the signing key's notBefore",
  ERR_TRUST_KEY_EXPIRED: "the signature was made after the signing key's notAfter, or a retired key's notAfter has passed",
  ERR_TRUST_KEY_RETIRED: "the signing key is retired and no longer signs new publishes",
  ERR_TRUST_KEY_REVOKED: "the signing key is revoked; its signatures are rejected at publish, install and load",
  ERR_TRUST_KEY_CONFLICT: "the key ID or key material already belongs to another trusted key or publisher",
  ERR_TRUST_KEY_NOT_FOUND: "no trusted key has this key ID",
  ERR_PUBLISHER_MISMATCH: "the manifest's publisher is not the signing key's publisher",

  // Registry.
  ERR_REGISTRY_VERSION_CONFLICT: "the registry already holds different content for this name@version",
  ERR_PLUGIN_NOT_FOUND: "no published plugin or version matches the name and version or range",
  ERR_PACKAGE_CODE_MISSING: "a module of a published package is missing from package storage",
  ERR_PACKAGE_CODE_ALTERED: "a stored module no longer matches its signed digest",
  ERR_PACKAGE_YANKED: "the plugin version was yanked; it is never installed or loaded again",

  // Installations.
  ERR_TENANT_INVALID: "the tenant ID is not a valid tenant ID",
  ERR_INSTALLATION_EXISTS: "the plugin is already installed in this tenant",
  ERR_INSTALLATION_NOT_FOUND: "the plugin is not installed in this tenant",
  ERR_UPGRADE_NOT_GREATER: "an upgrade must move to a strictly greater version",
  ERR_GRANT_NOT_REQUESTED: "a grant names a capability the manifest does not request",
  ERR_GRANT_WIDER_THAN_REQUEST: "a grant gives more than the manifest requests",
  ERR_GRANT_REQUIRED_MISSING: "a capability the manifest marks as required was not granted",
  ERR_CONFIG_INVALID: "the configuration does not match the plugin's config schema",
  ERR_LIFECYCLE_FAILED: "the plugin's lifecycle hook threw, timed out or returned garbage",

  // Hooks and dispatch.
  ERR_HOOK_FAILED: "a plugin's hook method threw",
  ERR_HOOK_TIMEOUT: "a plugin's hook method did not settle within the hook point's timeout",
  ERR_HOOK_RESULT_INVALID: "a plugin's hook result does not match the hook point's result schema",
  ERR_HOOK_UNKNOWN: "no hook point with this name is declared",
  ERR_HOOK_DEPTH_EXCEEDED: "a dispatch started from inside a plugin's hook nests deeper than the host allows",

  // Capabilities.
  ERR_CAPABILITY_PROPS_INVALID: "a capability binding was called with props that fail validation",
  ERR_CAPABILITY_NOT_GRANTED: "the installation has no grant for this capability",
  ERR_EGRESS_NOT_ALLOWED: "the destination of an outbound request is not in the network grant",
  ERR_STORAGE_INVALID: "a storage key or value is invalid or over its size limit",
} as const;

/** A stable error code: callers switch on it, and it never changes meaning. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of a {@link BerthError}. */
export interface BerthErrorOptions {
  /** Dot path of the offending field in the input, such as `manifest.hooks.ticket.created`. */
  path?: string;
  /** The underlying error; kept for logs, never sent to clients. */
  cause?: unknown;
}

/**
 * An error with a stable code and, where one field is at fault, its path. Messages
 * name the field and what to do, and never contain a token, a key or a payload.
 */
export class BerthError extends Error {
  override readonly name = "BerthError";
  readonly code: ErrorCode;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }

  /** Returns the JSON body the HTTP API sends for this error. */
  toJSON(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.path !== undefined) error.path = this.path;
    return { error };
  }
}

/** The JSON shape of every error response of the HTTP API. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; path?: string };
}

/** Tells whether a string is a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}
