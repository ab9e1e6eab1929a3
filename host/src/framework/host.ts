/**
 * The host definition: everything a host developer chooses once, at start-up.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { checkManifestForProfile, createTrustStore, type HostProfile, type Manifest, type TrustedKey } from "@berth/plugin-sdk/package";
import type { JSONWebKeySet } from "jose";
import semver from "semver";

import { createAuthenticator, type Principal } from "./api/auth.ts";
import { NETWORK, STORAGE, type CapabilityDefinition } from "./capabilities/catalogue.ts";
import type { BerthEnv } from "./env.ts";
import type { HookPoint } from "./hooks/hook-point.ts";

/** Options of {@link defineHost}. */
export interface HostOptions {
  /** The host's own version; manifests' `hostRange` must include it. */
  version: string;
  /** Newest compatibility date a plugin may ask for; the runtime supports no later one. */
  maxCompatibilityDate: string;
  hookPoints: readonly HookPoint[];
  /** App capabilities beyond the built-in `storage` and `network`. */
  capabilities?: readonly CapabilityDefinition[];
  /**
   * Publisher keys trusted from the start; more can come from `BERTH_TRUSTED_KEYS`.
   * Both seed the registry's trust store, which then keeps each key's state.
   */
  trustedKeys?: readonly unknown[];
  /** Public keys that sign API bearer tokens; more can come from `BERTH_AUTH_KEYS`. */
  authKeys?: JSONWebKeySet;
  /** Names of the framework entrypoints as exported from the host's main module. */
  entrypoints?: { egress?: string; logs?: string };
  /** Consecutive failed or timed-out hook calls after which an installation is disabled; default 5. */
  maxConsecutiveFailures?: number;
  /** Deepest nesting of dispatches started from inside plugin hooks; default 3. */
  maxDispatchDepth?: number;
}

/** A validated host definition. */
export interface Host {
  version: string;
  maxCompatibilityDate: string;
  hookPoints: ReadonlyMap<string, HookPoint>;
  capabilities: ReadonlyMap<string, CapabilityDefinition>;
  entrypoints: { egress: string; logs: string };
  maxConsecutiveFailures: number;
  maxDispatchDepth: number;
  /**
   * Returns the configured keys that seed the registry's trust store: built-in
   * keys plus `BERTH_TRUSTED_KEYS`. Raises `ERR_TRUST_KEY_INVALID`.
   */
  configuredKeys(env: BerthEnv): readonly TrustedKey[];
  /** Verifies a request's bearer token; raises `ERR_AUTH_REQUIRED` or `ERR_AUTH_INVALID`. */
  authenticate(env: BerthEnv, request: Request): Promise<Principal>;
}

/**
 * Validates a host definition. Raises a plain `Error` for programmer mistakes: an
 * invalid version or date, or a hook point or capability declared twice.
 */
export function defineHost(options: HostOptions): Host {
  if (semver.valid(options.version) !== options.version) {
    throw new Error(`host version "${options.version}" must be a strict semver version`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.maxCompatibilityDate)) {
    throw new Error(`maxCompatibilityDate "${options.maxCompatibilityDate}" must have the form YYYY-MM-DD`);
  }

  const hookPoints = new Map<string, HookPoint>();
  for (const point of options.hookPoints) {
    if (hookPoints.has(point.name)) throw new Error(`hook point ${point.name} is declared twice`);
    hookPoints.set(point.name, point);
  }

  const capabilities = new Map<string, CapabilityDefinition>();
  for (const capability of [STORAGE, NETWORK, ...(options.capabilities ?? [])]) {
    if (capabilities.has(capability.name)) throw new Error(`capability ${capability.name} is declared twice`);
    capabilities.set(capability.name, capability);
  }

  const maxConsecutiveFailures = options.maxConsecutiveFailures ?? 5;
  const maxDispatchDepth = options.maxDispatchDepth ?? 3;
  if (!Number.isInteger(maxConsecutiveFailures) || maxConsecutiveFailures < 1) {
    throw new Error("maxConsecutiveFailures must be a positive integer");
  }
  if (!Number.isInteger(maxDispatchDepth) || maxDispatchDepth < 0 || maxDispatchDepth > 10) {
    throw new Error("maxDispatchDepth must be an integer from 0 to 10");
  }

  const seedKeys = [...(options.trustedKeys ?? [])];
  createTrustStore(seedKeys);
  const cache = new Map<string, readonly TrustedKey[]>();
  const seedAuthKeys = options.authKeys?.keys ?? [];
  const authenticators = new Map<string, (request: Request) => Promise<Principal>>();

  return {
    version: options.version,
    maxCompatibilityDate: options.maxCompatibilityDate,
    hookPoints,
    capabilities,
    entrypoints: { egress: options.entrypoints?.egress ?? "BerthEgress", logs: options.entrypoints?.logs ?? "BerthLogTail" },
    maxConsecutiveFailures,
    maxDispatchDepth,
    configuredKeys(env) {
      const extra = env.BERTH_TRUSTED_KEYS ?? "[]";
      let keys = cache.get(extra);
      if (keys === undefined) {
        keys = [...createTrustStore([...seedKeys, ...parseKeyList(extra)]).keys.values()];
        cache.set(extra, keys);
      }
      return keys;
    },
    authenticate(env, request) {
      const extra = env.BERTH_AUTH_KEYS ?? "[]";
      let authenticator = authenticators.get(extra);
      if (authenticator === undefined) {
        authenticator = createAuthenticator({ keys: [...seedAuthKeys, ...(parseKeyList(extra, "BERTH_AUTH_KEYS") as JSONWebKeySet["keys"])] });
        authenticators.set(extra, authenticator);
      }
      return authenticator(request);
    },
  };
}

function parseKeyList(text: string, variable = "BERTH_TRUSTED_KEYS"): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BerthError("ERR_TRUST_KEY_INVALID", `${variable} is not valid JSON; set it to a JSON array of keys`, { cause: error });
  }
  if (!Array.isArray(parsed)) {
    throw new BerthError("ERR_TRUST_KEY_INVALID", `${variable} must be a JSON array of keys`);
  }
  return parsed;
}

/**
 * Checks what a verified manifest needs from this host: known capabilities,
 * declared hook points and a supported compatibility date. Raises
 * `ERR_MANIFEST_UNKNOWN_CAPABILITY`, `ERR_MANIFEST_UNKNOWN_HOOK` or
 * `ERR_MANIFEST_INVALID`.
 */
export function checkManifestForHost(manifest: Manifest, host: Host): void {
  checkManifestForProfile(manifest, hostProfile(host));
}

/**
 * Returns the host's profile: its version, newest compatibility date, hook point
 * names and capability names. `berth verify --profile` checks manifests against
 * a saved copy exactly as the host does.
 */
export function hostProfile(host: Host): HostProfile {
  return {
    version: host.version,
    maxCompatibilityDate: host.maxCompatibilityDate,
    hookPoints: [...host.hookPoints.keys()],
    capabilities: [...host.capabilities.keys()],
  };
}
