/**
 * The installation record: one plugin version installed in one tenant.
 *
 * @module
 */
import type { ErrorCode } from "@berth/plugin-sdk/errors";
import type { Manifest } from "@berth/plugin-sdk/package";

import type { Grants } from "../capabilities/grants.ts";
import { publicConfig, type Config } from "./config.ts";

/**
 * Where an installation is in its life. Only `enabled` installations receive
 * hook calls; `installing` and `uninstalling` exist while a lifecycle hook runs.
 */
export type InstallationState = "installing" | "installed" | "enabled" | "disabled" | "uninstalling";

/** The last failure of an installation's hook or lifecycle call. */
export interface LastError {
  code: ErrorCode;
  message: string;
  /** The hook point or lifecycle event that failed. */
  during: string;
  at: string;
}

/** One plugin version installed in one tenant. */
export interface Installation {
  id: string;
  tenant: string;
  name: string;
  version: string;
  /** SHA-256 of the package's signed manifest. */
  digest: string;
  manifest: Manifest;
  grants: Grants;
  config: Config;
  state: InstallationState;
  installedAt: number;
  updatedAt: number;
  /** Bumped by every change of version, grants or config. */
  revision: number;
  consecutiveFailures: number;
  lastError: LastError | null;
  egress: { allowed: number; refused: number };
  /** An upgrade that requests more than is granted, waiting for the tenant's consent. */
  pendingUpgrade: PendingUpgrade | null;
}

/** An upgrade waiting for consent; the installed version keeps running meanwhile. */
export interface PendingUpgrade {
  version: string;
  digest: string;
  manifest: Manifest;
  /** Capabilities the new version requests beyond the current grants, such as `tickets:read` or `network: b.example.com`. */
  asks: string[];
  requestedAt: string;
}

/** An installation as the HTTP API shows it. */
export interface InstallationView {
  name: string;
  version: string;
  publisher: string;
  state: InstallationState;
  grants: Grants;
  config: Config;
  /** Names of secret config fields that hold a value; their values are never shown. */
  secrets: string[];
  hooks: string[];
  installedAt: string;
  updatedAt: string;
  revision: number;
  consecutiveFailures: number;
  lastError: LastError | null;
  egress: { allowed: number; refused: number };
  pendingUpgrade: { version: string; asks: string[]; requestedAt: string } | null;
}

/** Returns the API view of an installation. */
export function toView(installation: Installation): InstallationView {
  return {
    name: installation.name,
    version: installation.version,
    publisher: installation.manifest.publisher,
    state: installation.state,
    grants: installation.grants,
    ...publicConfig(installation.manifest, installation.config),
    hooks: Object.keys(installation.manifest.hooks),
    installedAt: new Date(installation.installedAt).toISOString(),
    updatedAt: new Date(installation.updatedAt).toISOString(),
    revision: installation.revision,
    consecutiveFailures: installation.consecutiveFailures,
    lastError: installation.lastError,
    egress: installation.egress,
    pendingUpgrade:
      installation.pendingUpgrade === null
        ? null
        : { version: installation.pendingUpgrade.version, asks: installation.pendingUpgrade.asks, requestedAt: installation.pendingUpgrade.requestedAt },
  };
}
