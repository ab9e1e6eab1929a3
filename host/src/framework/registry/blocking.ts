/**
 * Carrying a key revocation or a yank to every tenant: each affected
 * installation is disabled with the reason as its `lastError`. Tenant objects
 * also ask the registry before they load a version (see `checkLoadable`), so a
 * tenant this fan-out misses still never loads the blocked code.
 *
 * @module
 */
import type { ErrorCode } from "@berth/plugin-sdk/errors";

import { tenantStub } from "../capabilities/entrypoints.ts";
import type { BerthEnv } from "../env.ts";
import { describeError } from "../util.ts";
import type { DeploymentTarget } from "./deployments.ts";
import { escapeControlCharacters } from "../tenants/log-text.ts";

/** Tenant calls in flight at once during a fan-out. */
const FAN_OUT_CONCURRENCY = 8;

/** Reason installations are blocked, recorded as each one's `lastError`. */
export interface BlockReason {
  code: ErrorCode;
  message: string;
  /** The event that blocked them, such as `key revocation` or `yank`. */
  during: string;
}

/** Result of the fan-out for one target. */
export interface BlockResult extends DeploymentTarget {
  /** `disabled` when the installation was disabled now, `unchanged` when it was not at that version, `failed` when the tenant call failed. */
  outcome: "disabled" | "unchanged" | "failed";
}

/**
 * Disables every target installation with `reason`, a few tenants at a time. A
 * failed tenant call is logged and reported, not raised, so one tenant cannot stop
 * the others; repeating the revocation or yank retries it.
 */
export async function blockEverywhere(env: BerthEnv, targets: readonly DeploymentTarget[], reason: BlockReason): Promise<BlockResult[]> {
  const results: BlockResult[] = [];
  for (let start = 0; start < targets.length; start += FAN_OUT_CONCURRENCY) {
    const batch = targets.slice(start, start + FAN_OUT_CONCURRENCY);
    results.push(
      ...(await Promise.all(
        batch.map(async (target): Promise<BlockResult> => {
          try {
            const disabled = await tenantStub(env, target.tenant).blockInstallation(target.name, target.version, reason);
            return { ...target, outcome: disabled ? "disabled" : "unchanged" };
          } catch (error) {
            console.error(`berth registry: could not disable ${target.name}@${target.version} in tenant ${target.tenant} after ${reason.during}: ${escapeControlCharacters(describeError(error))}`);
            return { ...target, outcome: "failed" };
          }
        }),
      )),
    );
  }
  return results;
}
