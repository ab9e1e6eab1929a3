/**
 * Checks that an installation's version may still be loaded. The registry
 * confirms that the version is neither yanked nor signed by a revoked key, and
 * the confirmation is cached for a while. An installation that fails a check is
 * disabled with the reason.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";

import type { BerthEnv } from "../env.ts";
import type { BlockReason } from "../registry/blocking.ts";
import { registryStub } from "../registry/publish.ts";
import { unwrap } from "../rpc.ts";
import type { Installation } from "./installation.ts";
import { escapeControlCharacters } from "./log-text.ts";
import type { TenantStore } from "./store.ts";

/**
 * Time a tenant object relies on the registry's result that a version may be
 * loaded, in milliseconds. A revocation or yank reaches indexed tenants at once,
 * and this bounds how long a tenant the fan-out missed keeps loading the version.
 */
export const LOADABLE_TTL_MS = 60_000;

/**
 * Asks the registry whether the installation's version may be loaded, unless
 * `loadable`, the registry's confirmation times by name@version, has one less
 * than {@link LOADABLE_TTL_MS} old. A rejected version disables the
 * installation with the reason, and the registry's error is raised.
 */
export async function checkLoadable(env: BerthEnv, store: TenantStore, loadable: Map<string, number>, installation: Installation): Promise<void> {
  const label = `${installation.name}@${installation.version}`;
  const checkedAt = loadable.get(label);
  if (checkedAt !== undefined && Date.now() - checkedAt < LOADABLE_TTL_MS) return;
  const result = await registryStub(env).checkLoadable({ tenant: installation.tenant, name: installation.name, version: installation.version });
  try {
    unwrap(result);
  } catch (error) {
    if (error instanceof BerthError) disableWithReason(store, installation, { code: error.code, message: error.message, during: "load" });
    throw error;
  }
  loadable.set(label, Date.now());
}

/**
 * Disables the stored installation with `reason` as its `lastError`, if it is
 * stored at the same version and not being installed or uninstalled (those
 * fail and clean up on their own).
 */
export function disableWithReason(store: TenantStore, installation: Installation, reason: BlockReason): void {
  const stored = store.byId(installation.id);
  if (stored === undefined || stored.version !== installation.version || stored.state === "installing" || stored.state === "uninstalling") return;

  const lastError = { code: reason.code, message: reason.message, during: reason.during, at: new Date().toISOString() };
  store.save({ ...stored, state: "disabled", updatedAt: Date.now(), lastError });
  store.appendLog(stored.id, "warn", `disabled after ${reason.during}: ${reason.code}: ${reason.message}`);
  console.warn(`berth tenant=${stored.tenant} plugin=${stored.name}@${stored.version}: disabled after ${escapeControlCharacters(`${reason.during}: ${reason.code}`)}`);
}
