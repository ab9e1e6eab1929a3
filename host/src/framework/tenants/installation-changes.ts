/**
 * The admin API's changes to one installation: a new installation record,
 * upgrades and downgrades, consent to a pending upgrade, and changes of grants,
 * config and state. Each lifecycle hook runs against the new shape before it is
 * stored, so a failed hook leaves the installation as it was.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import type { LifecycleEvent } from "@berth/plugin-sdk/package";
import semver from "semver";

import { acceptedGrants, consentNeeded, keptGrants, resolveGrants, type Grants } from "../capabilities/grants.ts";
import type { PackageRecord } from "../registry/registry-object.ts";
import { resolveConfig } from "./config.ts";
import type { Installation } from "./installation.ts";
import { escapeControlCharacters } from "./log-text.ts";
import type { TenantStore } from "./store.ts";

/** An install request, after the API resolved and verified the package. */
export interface InstallRequest {
  package: PackageRecord;
  grants: Grants;
  config: unknown;
  /** Whether to enable right after install; defaults to true. */
  enable?: boolean;
}

/** A change to an installation; the present fields are applied in this order. */
export interface InstallationChange {
  /** Accept or decline the pending upgrade; accepting may narrow it with `grants`. */
  consent?: "accept" | "decline";
  /** Upgrade to this package, which must have a greater version unless `downgrade` is set. */
  package?: PackageRecord;
  /** Allows `package` to have a lower version; the move is written to the installation's log. */
  downgrade?: boolean;
  /** The API token's subject that requested the change, for the log. */
  actor?: string;
  grants?: Grants;
  config?: unknown;
  state?: "enabled" | "disabled";
}

/** The tenant object's steps that installation changes call. */
export interface ChangeContext {
  store: TenantStore;
  /** Calls the installation's `event` lifecycle hook if it subscribes to it. */
  lifecycle(installation: Installation, event: LifecycleEvent, previousVersion?: string): Promise<void>;
  /** Adds the installation's version to the registry's index. */
  track(installation: Installation): Promise<void>;
  /** Removes the installation's version from the registry's index. */
  untrack(installation: Installation): Promise<void>;
  /** Raises unless the registry confirms that the installation's version may be loaded. */
  checkLoadable(installation: Installation): Promise<void>;
}

/** Returns the record of a new installation of the requested package, in state `installing`. */
export function newInstallation(tenant: string, request: InstallRequest): Installation {
  const { manifest } = request.package;
  const now = Date.now();
  return {
    id: crypto.randomUUID(),
    tenant,
    name: manifest.name,
    version: manifest.version,
    digest: request.package.digest,
    manifest,
    grants: resolveGrants(manifest, request.grants),
    config: resolveConfig(manifest, request.config),
    state: "installing",
    installedAt: now,
    updatedAt: now,
    revision: 1,
    consecutiveFailures: 0,
    lastError: null,
    egress: { allowed: 0, refused: 0 },
    pendingUpgrade: null,
  };
}

/**
 * Upgrades to a greater version, or with `downgrade` to a lower one. Without
 * explicit `grants`, a change that asks for more than the tenant consented to is
 * stored as pending while the current version keeps running; PATCH `consent`
 * then accepts or declines it.
 */
export async function upgrade(context: ChangeContext, current: Installation, next: PackageRecord, change: InstallationChange): Promise<Installation> {
  const order = semver.compare(next.version, current.version);
  if (order === 0) {
    throw new BerthError("ERR_UPGRADE_NOT_GREATER", `${current.name} is already at ${current.version}; an upgrade must move to a greater version`, { path: "version" });
  }
  if (order < 0 && change.downgrade !== true) {
    throw new BerthError(
      "ERR_UPGRADE_NOT_GREATER",
      `${current.name} is at ${current.version}; an upgrade must move to a greater version, not ${next.version}. To move to a lower version on purpose, send downgrade: true`,
      { path: "version" },
    );
  }
  if (order > 0 && change.downgrade === true) {
    throw new BerthError("ERR_REQUEST_INVALID", `downgrade: true needs a version lower than ${current.version}, not ${next.version}; leave it out to upgrade`, {
      path: "body.downgrade",
    });
  }

  if (change.grants === undefined) {
    const asks = consentNeeded(current.manifest, current.grants, next.manifest);
    if (asks.length > 0) {
      const pendingUpgrade = { version: next.version, digest: next.digest, manifest: next.manifest, asks, requestedAt: new Date().toISOString() };
      const waiting = { ...current, pendingUpgrade, updatedAt: Date.now() };
      // Indexed too, so a yank or revocation of the waiting version drops it.
      await context.track({ ...current, version: next.version });
      context.store.save(waiting);
      context.store.appendLog(current.id, "info", `upgrade to ${next.version} waits for consent to ${asks.join(", ")}`);
      return waiting;
    }
  }
  return switchVersion(context, current, next, change.grants ?? keptGrants(current.grants, next.manifest), change.config, change.actor);
}

/** Accepts or declines the pending upgrade, following `change.consent`. */
export async function answerConsent(context: ChangeContext, current: Installation, change: InstallationChange): Promise<Installation> {
  const pending = current.pendingUpgrade;
  if (pending === null) {
    throw new BerthError("ERR_REQUEST_INVALID", `${current.name} has no upgrade waiting for consent`, { path: "body.consent" });
  }
  if (change.consent === "decline") {
    const declined = { ...current, pendingUpgrade: null, updatedAt: Date.now() };
    context.store.save(declined);
    await context.untrack({ ...current, version: pending.version });
    context.store.appendLog(current.id, "info", `upgrade to ${pending.version} declined; staying on ${current.version}`);
    return declined;
  }

  // Accepting grants what the new version asks for, unless the admin narrows it with grants.
  const grants = change.grants ?? acceptedGrants(current.grants, pending.manifest, pending.asks);
  return switchVersion(context, current, pending, grants, change.config, change.actor);
}

/**
 * Moves to another version. The new version is in the registry's index before
 * its upgrade hook runs, and the old one leaves it once the move is stored. A
 * move to a lower version (only reached with `downgrade: true`) is written to
 * the log as an audit line naming `actor`, and does not set `lastError`.
 */
async function switchVersion(
  context: ChangeContext,
  current: Installation,
  next: Pick<PackageRecord, "version" | "digest" | "manifest">,
  grants: Grants,
  config: unknown,
  actor?: string,
): Promise<Installation> {
  const candidate: Installation = {
    ...current,
    version: next.version,
    digest: next.digest,
    manifest: next.manifest,
    grants: resolveGrants(next.manifest, grants),
    config: resolveConfig(next.manifest, config ?? current.config, current.config),
    updatedAt: Date.now(),
    revision: current.revision + 1,
    pendingUpgrade: null,
  };

  await context.track(candidate);
  try {
    await context.lifecycle(candidate, "upgrade", current.version);
  } catch (error) {
    await context.untrack(candidate);
    throw error;
  }
  context.store.save(candidate);
  await context.untrack(current);

  if (semver.lt(candidate.version, current.version)) {
    const audit = `downgraded from ${current.version} to ${candidate.version} on explicit request by ${actor ?? "an unnamed caller"}`;
    context.store.appendLog(candidate.id, "audit", audit);
    console.log(`berth audit tenant=${candidate.tenant} plugin=${candidate.name}: ${escapeControlCharacters(audit)}`);
  } else {
    context.store.appendLog(candidate.id, "info", `upgraded from ${current.version} to ${candidate.version}`);
  }
  return candidate;
}

/** Replaces the installation's grants and stores it; no lifecycle hook runs. */
export function regrant(store: TenantStore, current: Installation, grants: Grants): Installation {
  const candidate = { ...current, grants: resolveGrants(current.manifest, grants), updatedAt: Date.now(), revision: current.revision + 1 };
  store.save(candidate);
  store.appendLog(candidate.id, "info", `grants changed to ${Object.keys(candidate.grants).join(", ") || "none"}`);
  return candidate;
}

/** Changes the installation's config once its `configure` hook accepted the new config. */
export async function configure(context: ChangeContext, current: Installation, config: unknown): Promise<Installation> {
  const candidate = { ...current, config: resolveConfig(current.manifest, config, current.config), updatedAt: Date.now(), revision: current.revision + 1 };
  await context.lifecycle(candidate, "configure");
  context.store.save(candidate);
  context.store.appendLog(candidate.id, "info", "config changed");
  return candidate;
}

/**
 * Enables or disables the installation, with its `enable` or `disable` hook.
 * Enabling clears `lastError`, since the reason it was set (such as a revoked
 * key or too many failed calls) no longer stops the installation.
 */
export async function setState(context: ChangeContext, current: Installation, state: "enabled" | "disabled"): Promise<Installation> {
  if (current.state === state) return current;
  const candidate = { ...current, state, updatedAt: Date.now(), consecutiveFailures: 0, lastError: state === "enabled" ? null : current.lastError };

  if (state === "enabled") {
    // A yanked version or a revoked key stays disabled, with or without an enable hook.
    await context.checkLoadable(candidate);
    await context.lifecycle(candidate, "enable");
    context.store.save(candidate);
  } else {
    // Dispatch stops before the disable hook runs; its failure does not block disabling.
    context.store.save(candidate);
    await context.lifecycle(candidate, "disable").catch(() => undefined);
  }
  context.store.appendLog(candidate.id, "info", `state changed to ${state}`);
  return candidate;
}
