/**
 * One call of a dispatch to a plugin's hook method, and the bookkeeping of its
 * result: failure counts, log lines, and disabling an installation that failed
 * too many calls in a row.
 *
 * @module
 */
import type { HookContext } from "@berth/plugin-sdk";
import { BerthError, type ErrorCode } from "@berth/plugin-sdk/errors";

import type { HookPoint } from "../hooks/hook-point.ts";
import type { CallRecord, Subscriber } from "../hooks/dispatch.ts";
import { describeError, withTimeout } from "../util.ts";
import { maskSecrets, secretValues } from "./config.ts";
import type { Installation } from "./installation.ts";
import { escapeControlCharacters } from "./log-text.ts";
import type { TenantStore } from "./store.ts";

/** The parts of the tenant object that a hook call uses. */
export interface HookCaller {
  /** Loads the installation's Worker after the registry's load checks. */
  load(installation: Installation): Promise<WorkerStub>;
  /** Depths of the hook calls in flight, by installation ID. */
  inFlight: Map<string, number[]>;
}

/**
 * Calls the installation's method for `point` with `payload`, at dispatch depth
 * `depth`, and returns its result. Raises `ERR_HOOK_TIMEOUT` past the hook
 * point's timeout or for a promise that can never settle, and `ERR_HOOK_FAILED`
 * with secret config values masked for any other error that is not a `BerthError`.
 */
export async function invokeHook(
  caller: HookCaller,
  installation: Installation,
  point: HookPoint,
  subscription: { entrypoint: string; method: string },
  payload: unknown,
  depth: number,
): Promise<unknown> {
  const worker = await caller.load(installation);
  const entrypoint = worker.getEntrypoint(subscription.entrypoint) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const context: HookContext = {
    tenant: installation.tenant,
    installation: installation.id,
    plugin: installation.name,
    version: installation.version,
    hook: point.name,
    depth,
  };

  // Entrypoint and method names were checked against the identifier pattern and
  // the reserved names when the manifest was verified.
  const method = entrypoint[subscription.method] as (payload: unknown, context: HookContext) => Promise<unknown>;
  const depths = caller.inFlight.get(installation.id) ?? [];
  depths.push(depth);
  caller.inFlight.set(installation.id, depths);
  try {
    return await withTimeout(
      Promise.resolve(method(payload, context)),
      point.timeoutMs,
      () => new BerthError("ERR_HOOK_TIMEOUT", `${installation.name} timed out: no result from ${point.name} within ${point.timeoutMs} ms`),
    );
  } catch (error) {
    if (error instanceof BerthError) throw error;
    // workerd cancels a call whose promise can never settle (no pending I/O or timer) at once.
    // The plugin's own message may quote its secret config; the caller sees it masked.
    const detail = maskSecrets(describeError(error), secretValues(installation.manifest, installation.config));
    if (detail.includes("had hung")) {
      throw new BerthError("ERR_HOOK_TIMEOUT", `${installation.name} hung in ${point.name}: its promise could never settle`, { cause: error });
    }
    throw new BerthError("ERR_HOOK_FAILED", `${installation.name} threw in ${point.name}: ${detail}`, { cause: error });
  } finally {
    depths.splice(depths.indexOf(depth), 1);
    if (depths.length === 0) caller.inFlight.delete(installation.id);
  }
}

/**
 * Records the result of one hook call: an ok call resets the installation's
 * failure count, and a failed one is counted and logged with secret config
 * values masked. After `maxConsecutiveFailures` failures in a row, an enabled
 * installation is disabled.
 */
export function recordCall(store: TenantStore, maxConsecutiveFailures: number, subscriber: Subscriber, point: HookPoint, record: CallRecord): void {
  if (record.status === "ok") {
    store.resetFailures(subscriber.installationId);
    return;
  }
  const code: ErrorCode = record.error?.code ?? "ERR_HOOK_FAILED";
  const message = record.error?.message ?? "the hook failed";
  const at = new Date().toISOString();
  const current = store.byId(subscriber.installationId);
  const secrets = current === undefined ? [] : secretValues(current.manifest, current.config);
  const masked = maskSecrets(message, secrets);
  const failures = store.recordFailure(subscriber.installationId, { code, message: masked, during: point.name, at });
  store.appendLog(subscriber.installationId, "error", `${point.name}: ${code}: ${masked}`);
  console.warn(`berth plugin=${subscriber.plugin}@${subscriber.version} hook=${point.name}: ${escapeControlCharacters(code)}`);

  // Past the limit the installation is disabled until a tenant admin enables it again.
  const installation = store.byId(subscriber.installationId);
  if (installation?.state === "enabled" && failures >= maxConsecutiveFailures) {
    const reason = `disabled automatically after ${failures} consecutive failed hook calls; the last was ${code} in ${point.name}`;
    store.save({ ...installation, state: "disabled", updatedAt: Date.now(), lastError: { code, message: reason, during: point.name, at } });
    store.appendLog(installation.id, "warn", reason);
    console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: ${escapeControlCharacters(reason)}`);
  }
}
