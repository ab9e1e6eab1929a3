/**
 * Calls to a plugin's lifecycle hooks (install, enable, configure, upgrade,
 * disable, uninstall), with a timeout and with secret config values masked in
 * the errors they raise.
 *
 * @module
 */
import type { LifecycleContext } from "@berth/plugin-sdk";
import { BerthError } from "@berth/plugin-sdk/errors";
import type { LifecycleEvent } from "@berth/plugin-sdk/package";

import { describeError, withTimeout } from "../util.ts";
import { maskSecrets, secretValues } from "./config.ts";
import type { Installation } from "./installation.ts";
import { rememberTriedSecrets, type TriedSecrets } from "./secrets.ts";
import type { TenantStore } from "./store.ts";

/** Timeout of one lifecycle call, in milliseconds. */
export const LIFECYCLE_TIMEOUT_MS = 10_000;

/** The parts of the tenant object that a lifecycle call uses. */
export interface LifecycleCaller {
  store: TenantStore;
  triedSecrets: TriedSecrets;
  /** Loads the installation's Worker after the registry's load checks. */
  load(installation: Installation): Promise<WorkerStub>;
}

/**
 * Calls the installation's `event` hook if its manifest subscribes to it. A
 * failure is written to the installation's log, set as the stored installation's
 * `lastError` (an installation still being installed is purged instead) and
 * raised: a `BerthError` (such
 * as a failed load check or a call past {@link LIFECYCLE_TIMEOUT_MS}) as it is,
 * any other error as `ERR_LIFECYCLE_FAILED` with secret config values masked.
 */
export async function callLifecycle(caller: LifecycleCaller, installation: Installation, event: LifecycleEvent, previousVersion?: string): Promise<void> {
  const lifecycle = installation.manifest.lifecycle;
  if (lifecycle === undefined || !lifecycle.events.includes(event)) return;

  const label = `${installation.name}@${installation.version}`;
  const context: LifecycleContext = {
    tenant: installation.tenant,
    installation: installation.id,
    plugin: installation.name,
    version: installation.version,
    event,
  };
  if (previousVersion !== undefined) context.previousVersion = previousVersion;

  // Kept in memory for a minute after the call's timeout; tails arrive within that.
  rememberTriedSecrets(caller.triedSecrets, installation, LIFECYCLE_TIMEOUT_MS + 60_000);

  try {
    const worker = await caller.load(installation);
    const entrypoint = worker.getEntrypoint(lifecycle.entrypoint) as unknown as Record<string, (context: LifecycleContext) => Promise<unknown>>;
    const method = entrypoint[event] as (context: LifecycleContext) => Promise<unknown>;
    await withTimeout(
      Promise.resolve(method(context)),
      LIFECYCLE_TIMEOUT_MS,
      () => new BerthError("ERR_LIFECYCLE_FAILED", `${label} did not finish its ${event} hook within ${LIFECYCLE_TIMEOUT_MS} ms`),
    );
  } catch (error) {
    const failure =
      error instanceof BerthError
        ? error
        : new BerthError(
            "ERR_LIFECYCLE_FAILED",
            // Masked with this shape's secrets, which may be new ones not stored yet.
            `${label} failed its ${event} hook: ${maskSecrets(describeError(error), secretValues(installation.manifest, installation.config))}`,
            { cause: error },
          );
    caller.store.appendLog(installation.id, "error", `${event}: ${failure.code}: ${failure.message}`);
    // The stored row, not `installation`: a failed upgrade or configure leaves the stored shape as it was.
    if (caller.store.byId(installation.id)?.state !== "installing") {
      caller.store.recordLastError(installation.id, { code: failure.code, message: failure.message, during: event, at: new Date().toISOString() });
    }
    throw failure;
  }
}
