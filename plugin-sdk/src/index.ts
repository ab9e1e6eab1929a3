/**
 * What plugin code imports: the shapes of the `env` a Berth host gives a plugin, of
 * the capability bindings in it, and of the arguments of hook and lifecycle methods.
 *
 * @module
 */
export { BerthError, ERROR_CODES, type ErrorCode } from "./errors.ts";
export type { LifecycleEvent, Manifest, ManifestInput } from "./package/manifest.ts";

/** Who a call is for; the same in every hook and lifecycle call. */
export interface PluginIdentity {
  tenant: string;
  installation: string;
  plugin: string;
  version: string;
}

/** The second argument of every hook method. */
export interface HookContext extends PluginIdentity {
  /** The hook point being dispatched, such as `ticket.created`. */
  hook: string;
  /** How many dispatches enclose this one; 0 for a dispatch the app started. */
  depth: number;
}

/** The argument of every lifecycle method. */
export interface LifecycleContext extends PluginIdentity {
  event: import("./package/manifest.ts").LifecycleEvent;
  /** The version before an upgrade; set for `upgrade` only. */
  previousVersion?: string;
}

/** One entry returned by {@link StorageBinding.list}. */
export interface StorageEntry<T = unknown> {
  key: string;
  value: T;
}

/**
 * The `storage` capability: the installation's own key-value store. Keys are
 * 1 to 512 characters; values are JSON, at most 64 KiB each once encoded.
 */
export interface StorageBinding {
  get<T = unknown>(key: string): Promise<T | null>;
  put(key: string, value: unknown): Promise<void>;
  /** Deletes a key; returns whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Lists entries in key order, at most `limit` (default and maximum 1000). */
  list<T = unknown>(options?: { prefix?: string; limit?: number }): Promise<StorageEntry<T>[]>;
}

/**
 * The base of every plugin's `env`. A binding appears only when its capability
 * was granted, so check for it before use when the capability is optional.
 */
export interface PluginEnv<Config = Record<string, unknown>> {
  BERTH: PluginIdentity;
  /** The installation's config, validated against the manifest's config schema. */
  CONFIG: Config;
  /** Present when `storage` was granted. */
  STORAGE?: StorageBinding;
}

/**
 * Returns the `env` name of a capability's binding: `storage` gives `STORAGE`,
 * `tickets:read` gives `TICKETS_READ`.
 */
export function bindingName(capability: string): string {
  return capability.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}
