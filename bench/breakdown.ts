/**
 * The variants of the dispatch breakdown, which show where dispatch spends the
 * time a bare RPC call does not. Each variant repeats what the framework does
 * at one step, calling the framework's own function where it is exported, and
 * names the variant it is compared with (`base`).
 *
 * The per-call steps are timed on top of a call to an isolate without the
 * framework's tail. With the tail, each call also runs the host's tail handler
 * in the same isolate, and that work varies by a tenth of a millisecond or
 * more from one variant to the next, which hides steps of a few microseconds.
 *
 * NOTE: what the runs on a 2-core machine showed, and what fixed or would fix
 * each cost. (1) The subscriber query grew to 6 to 10 ms per dispatch at 1000
 * installations while `TenantStore.list()` parsed every manifest on each call;
 * the store now keeps the parsed list until the next write, and figure 6 is
 * flat. (2) Dispatch took a new stub from `loadPlugin` for every call, which cost
 * 0 to 8 ms per call with the tail attached; `TenantObject` now reuses one stub
 * per isolate shape, and figure 1 went from 1.7-5.6x to about 1.1x of the bare
 * call. (3) The tail that `loadPlugin` (host/src/framework/loader/plugin-loader.ts)
 * attaches costs about half of every call, bare or dispatched; capturing plugin
 * logs another way would halve both, but not change their ratio. (4) Each
 * remaining step adds under about 0.1 ms per call.
 *
 * @module
 */
import type { Host } from "../host/src/framework/host.ts";
import type { HookPoint } from "../host/src/framework/hooks/hook-point.ts";
import { isolateId } from "../host/src/framework/loader/plugin-loader.ts";
import type { Installation } from "../host/src/framework/tenants/installation.ts";
import type { TenantStore } from "../host/src/framework/tenants/store.ts";
import { withTimeout } from "../host/src/framework/util.ts";
import * as v from "valibot";

/** Name of the variant every per-call step is added to. */
export const STEP_BASE = "bare, no tail";

/** One variant: its name, what it does, the variant it is compared with, and one call of it. */
export interface BreakdownVariant {
  name: string;
  description: string;
  /** The variant this one adds a step to; absent for `bare`. */
  base?: string;
  run: () => Promise<unknown>;
}

/** Inputs of the variants, from the tenant Durable Object. */
export interface BreakdownInputs {
  point: HookPoint;
  payload: unknown;
  installation: Installation;
  host: Host;
  store: TenantStore;
  sql: SqlStorage;
  /** Calls the plugin's hook method on a stub loaded once by the framework. */
  bare: (payload: unknown) => Promise<unknown>;
  /** Calls the same method on the same code and env loaded without the tail. */
  untailed: (payload: unknown) => Promise<unknown>;
  /** Calls the same method on the same code loaded without tail and env. */
  plain: (payload: unknown) => Promise<unknown>;
  /** Gets a new stub of the isolate without the tail (`LOADER.get` again) and returns its hook method. */
  untailedFresh: () => (payload: unknown) => Promise<unknown>;
  /** Loads the plugin as dispatch does and returns its hook method. */
  loadFresh: () => Promise<(payload: unknown) => Promise<unknown>>;
  /** Runs one whole dispatch. */
  dispatch: () => Promise<unknown>;
}

/** Returns the variants: the framework's bare call, the two isolates without tail, the steps, then dispatch. */
export function breakdownVariants(inputs: BreakdownInputs): BreakdownVariant[] {
  const { point, payload, installation, host, store, sql, bare, untailed, plain, untailedFresh, loadFresh, dispatch } = inputs;
  const base = () => untailed(payload);

  return [
    { name: "bare", description: "the hook method over RPC on a stub kept from one loadPlugin, as the framework loads the plugin", run: () => bare(payload) },
    {
      name: STEP_BASE,
      base: "bare",
      description: "the same method on the same code and env, loaded without the framework's tail (BerthLogTail): the difference is the tail's cost per call",
      run: base,
    },
    {
      name: "bare, no tail or env",
      base: STEP_BASE,
      description: "the same method on the same code loaded by the Worker Loader alone, with no env",
      run: () => plain(payload),
    },
    {
      name: "+ payload validation",
      base: STEP_BASE,
      description: "dispatch validates the payload against the hook point's schema (valibot)",
      run: async () => {
        v.parse(point.payload as v.GenericSchema, payload);
        return base();
      },
    },
    {
      name: "+ subscriber query",
      base: STEP_BASE,
      description: "dispatch reads the installations (store.list(), parsed once per write) to find the subscribers",
      run: async () => {
        store.list();
        return base();
      },
    },
    {
      name: "+ isolate ID",
      base: STEP_BASE,
      description: "loadPlugin computes the isolate ID on every call: canonical JSON of the installation and SHA-256",
      run: async () => {
        await isolateId(installation, host);
        return base();
      },
    },
    {
      name: "+ timeout race",
      base: STEP_BASE,
      description: "each call races a new timer (withTimeout)",
      run: () => withTimeout(base(), point.timeoutMs, () => new Error(`${point.name} timed out in the bench`)),
    },
    {
      name: "+ failure counter reset",
      base: STEP_BASE,
      description: "after each successful call, store.resetFailures(): an SQL UPDATE, a write even when the counter is 0",
      run: async () => {
        const result = await base();
        store.resetFailures(installation.id);
        return result;
      },
    },
    {
      name: "+ failure counter read",
      base: STEP_BASE,
      description: "reading the counter instead (SQL SELECT, no write): what resetting only a counter above 0 would cost",
      run: async () => {
        const result = await base();
        sql.exec("SELECT consecutive_failures FROM berth_installations WHERE id = ?", installation.id).toArray();
        return result;
      },
    },
    {
      name: "+ new loader stub",
      base: STEP_BASE,
      description: "LOADER.get and getEntrypoint for every call, as loadPlugin does, on the isolate without the tail",
      run: () => untailedFresh()(payload),
    },
    {
      name: "loadPlugin + call",
      base: "bare",
      description: "loadPlugin on every call, as dispatch did before it reused stubs (isolate ID, LOADER.get, getEntrypoint), then the call on the framework's isolate",
      run: async () => (await loadFresh())(payload),
    },
    {
      name: "dispatch",
      base: "bare",
      description: "TenantObject.dispatch: all of the steps above, plus ordering and the call record",
      run: dispatch,
    },
  ];
}
