/**
 * The bench's tenant Durable Object: the demo help desk's tenant with methods
 * that time batches of framework calls inside the runtime and return the
 * numbers. Bench-only; the demo host does not export it.
 *
 * @module
 */
import type { HookContext } from "@berth/plugin-sdk";

import { HelpDeskTenant } from "../host/src/demo/help-desk-tenant.ts";
import type { HookPoint } from "../host/src/framework/hooks/hook-point.ts";
import { loadPlugin, type LoaderContext, type LoopbackFactory } from "../host/src/framework/loader/plugin-loader.ts";
import { getModules } from "../host/src/framework/registry/code-store.ts";
import { resolvePackage } from "../host/src/framework/registry/publish.ts";
import type { Installation } from "../host/src/framework/tenants/installation.ts";
import { breakdownVariants, type BreakdownVariant } from "./breakdown.ts";
import { calibrateBatch, timeBatch, timeSpan } from "./clock.ts";
import { HOOKS_ENTRYPOINT, sampleDraft, sampleTicket } from "./fixtures.ts";

/** Bounds of every batch size, whatever a request sets. */
const MIN_BATCH = 5;
const MAX_BATCH = 5_000;

/** A request to time batches of one hook point. */
export interface BatchRequest {
  hook: string;
  batches: number;
  /** Milliseconds one batch should last; the batch size is calibrated to it. */
  targetMs: number;
  /** Untimed calls before calibration. */
  warmup: number;
  /** A fixed batch size; skips calibration. */
  batchSize?: number | undefined;
}

/** Batches of dispatches and of bare RPC calls to the same subscribers. */
export interface WarmComparison {
  subscribers: number;
  installations: number;
  batchSize: number;
  /** Total milliseconds of each batch of `batchSize` dispatches. */
  dispatchMs: number[];
  /** Total milliseconds of each batch of `batchSize` rounds of bare calls. */
  bareMs: number[];
}

/** Batches of dispatches alone. */
export interface DispatchBatches {
  subscribers: number;
  installations: number;
  batchSize: number;
  batchMs: number[];
}

/** Batches of each variant of {@link BenchTenant.dispatchBreakdown}, by variant name. */
export interface DispatchBreakdown {
  /** Calls per batch, by variant name. */
  batchSizes: Record<string, number>;
  /** Each batch's total divided by its calls, by variant name. */
  msPerCall: Record<string, number[]>;
  /** Description of each variant, by variant name. */
  descriptions: Record<string, string>;
  /** The variant each variant is compared with, by variant name; null for the first. */
  bases: Record<string, string | null>;
}

/** A published package to load cold. */
export interface PackageRef {
  name: string;
  version: string;
}

/** Milliseconds of each cold load, with the size of the loaded code. */
export interface ColdLoads {
  loadMs: number[];
  codeBytes: number[];
}

type HookMethod = (payload: unknown, context: HookContext) => Promise<unknown>;

/** The help desk tenant plus timing methods for the bench Worker. */
export class BenchTenant extends HelpDeskTenant {
  /**
   * Times batches of `dispatch` of one hook point against batches of bare RPC
   * calls to the same loaded plugins, one after another in dispatch order
   * (a filter's bare calls pass each output on, as the chain does). The two
   * kinds of batch alternate, and which goes first alternates too, so a change
   * in machine load hits both alike.
   */
  async compareWarm(request: BatchRequest): Promise<WarmComparison> {
    const point = this.#hookPoint(request.hook);
    const payload = payloadFor(point);
    const bare = await this.#bareRound(point);
    const dispatch = () => this.#checkedDispatch(point, payload, bare.count);
    const bareRound = () => bare.run(payload);

    for (let i = 0; i < request.warmup; i += 1) await bareRound();
    const batchSize = request.batchSize ?? (await calibrateBatch(dispatch, { targetMs: request.targetMs, warmup: request.warmup, min: MIN_BATCH, max: MAX_BATCH }));

    const dispatchMs: number[] = [];
    const bareMs: number[] = [];
    for (let batch = 0; batch < request.batches; batch += 1) {
      if (batch % 2 === 0) {
        dispatchMs.push(await timeBatch(batchSize, dispatch));
        bareMs.push(await timeBatch(batchSize, bareRound));
      } else {
        bareMs.push(await timeBatch(batchSize, bareRound));
        dispatchMs.push(await timeBatch(batchSize, dispatch));
      }
    }
    return { subscribers: bare.count, installations: this.store.list().length, batchSize, dispatchMs, bareMs };
  }

  /**
   * Splits the cost of dispatching to one plugin: times batches of each
   * variant in bench/breakdown.ts (bare calls, a call with one step of
   * `dispatch` added, and `dispatch` itself), each with a batch size calibrated to
   * `targetMs`. The variants rotate their order from batch to batch. Uses the
   * first subscriber of `hook`.
   */
  async dispatchBreakdown(request: BatchRequest): Promise<DispatchBreakdown> {
    const point = this.#hookPoint(request.hook);
    const payload = payloadFor(point);
    const installation = this.#subscribed(point)[0];
    const subscription = installation?.manifest.hooks[point.name];
    if (installation === undefined || subscription === undefined) throw new Error(`no installation in this tenant subscribes to ${point.name}`);

    const context: HookContext = {
      tenant: installation.tenant,
      installation: installation.id,
      plugin: installation.name,
      version: installation.version,
      hook: point.name,
      depth: 0,
    };
    const methodOf = (worker: WorkerStub) => {
      const entrypoint = worker.getEntrypoint(subscription.entrypoint) as unknown as Record<string, HookMethod>;
      return (input: unknown) => (entrypoint[subscription.method] as HookMethod)(input, context);
    };

    // The same code in isolates the framework did not make: one with the env the
    // framework gives a plugin without grants but no tail, one with neither.
    if (Object.keys(installation.grants).length > 0) throw new Error(`${installation.name} has grants; the breakdown needs a plugin without capability bindings`);
    const modules = await getModules(this.env.PACKAGES, installation.manifest);
    const code = (env: Record<string, unknown>): WorkerLoaderWorkerCode => ({
      compatibilityDate: installation.manifest.compatibilityDate,
      mainModule: installation.manifest.main,
      modules,
      env,
      globalOutbound: null,
    });
    const identity = { tenant: installation.tenant, installation: installation.id, plugin: installation.name, version: installation.version };
    const untailedId = `bench-untailed:${installation.id}:${installation.digest}`;
    const untailedCode = code({ BERTH: identity, CONFIG: installation.config });
    const untailedWorker = this.env.LOADER.get(untailedId, () => untailedCode);
    const plainWorker = this.env.LOADER.get(`bench-plain:${installation.id}:${installation.digest}`, () => code({}));

    const variants = breakdownVariants({
      point,
      payload,
      installation,
      host: this.host,
      store: this.store,
      sql: this.ctx.storage.sql,
      bare: methodOf(await loadPlugin(installation, this.#loaderContext())),
      untailed: methodOf(untailedWorker),
      untailedFresh: () => methodOf(this.env.LOADER.get(untailedId, () => untailedCode)),
      plain: methodOf(plainWorker),
      loadFresh: async () => methodOf(await loadPlugin(installation, this.#loaderContext())),
      dispatch: () => this.#checkedDispatch(point, payload, this.#subscribed(point).length),
    });

    // Each variant gets its own batch size, so fast ones still run long enough batches.
    const batchSizes: Record<string, number> = {};
    for (const variant of variants) {
      batchSizes[variant.name] = request.batchSize ?? (await calibrateBatch(variant.run, { targetMs: request.targetMs, warmup: request.warmup, min: MIN_BATCH, max: MAX_BATCH }));
    }

    const msPerCall: Record<string, number[]> = Object.fromEntries(variants.map((variant) => [variant.name, []]));
    for (let batch = 0; batch < request.batches; batch += 1) {
      for (let step = 0; step < variants.length; step += 1) {
        const variant = variants[(batch + step) % variants.length] as BreakdownVariant;
        const size = batchSizes[variant.name] as number;
        msPerCall[variant.name]?.push((await timeBatch(size, variant.run)) / size);
      }
    }
    return {
      batchSizes,
      msPerCall,
      descriptions: Object.fromEntries(variants.map((variant) => [variant.name, variant.description])),
      bases: Object.fromEntries(variants.map((variant) => [variant.name, variant.base ?? null])),
    };
  }

  /** Times batches of `dispatch` of one hook point. */
  async dispatchBatches(request: BatchRequest): Promise<DispatchBatches> {
    const point = this.#hookPoint(request.hook);
    const payload = payloadFor(point);
    const subscribers = this.#subscribed(point).length;
    const dispatch = () => this.#checkedDispatch(point, payload, subscribers);

    let batchSize = request.batchSize;
    if (batchSize === undefined) {
      batchSize = await calibrateBatch(dispatch, { targetMs: request.targetMs, warmup: request.warmup, min: MIN_BATCH, max: MAX_BATCH });
    } else {
      for (let i = 0; i < request.warmup; i += 1) await dispatch();
    }

    const batchMs: number[] = [];
    for (let batch = 0; batch < request.batches; batch += 1) batchMs.push(await timeBatch(batchSize, dispatch));
    return { subscribers, installations: this.store.list().length, batchSize, batchMs };
  }

  /**
   * Times the first load of each package version and one `ping` call on it.
   * `framework`: the framework's `loadPlugin` for an installation of the
   * version (isolate ID, code read from R2 and its digests checked, capability
   * bindings, loader) as a dispatch does on first use after an install or
   * upgrade. `runtime`: the Worker Loader alone, with the code already in
   * memory and no bindings, the floor under the framework's figure.
   */
  async coldLoads(tenant: string, packages: PackageRef[], mode: "framework" | "runtime"): Promise<ColdLoads> {
    const loadMs: number[] = [];
    const codeBytes: number[] = [];
    for (const ref of packages) {
      const record = await resolvePackage(this.env, this.host, ref.name, ref.version);
      codeBytes.push(Object.values(record.manifest.modules).reduce((sum, module) => sum + module.size, 0));

      if (mode === "framework") {
        const installation = benchInstallation(tenant, record.name, record.version, record.digest, record.manifest);
        loadMs.push(await timeSpan(() => this.#ping(loadPlugin(installation, this.#loaderContext()))));
      } else {
        const modules = await getModules(this.env.PACKAGES, record.manifest);
        const code: WorkerLoaderWorkerCode = {
          compatibilityDate: record.manifest.compatibilityDate,
          mainModule: record.manifest.main,
          modules,
          globalOutbound: null,
        };
        const id = `bench-runtime:${record.name}:${record.version}:${crypto.randomUUID()}`;
        loadMs.push(await timeSpan(() => this.#ping(Promise.resolve(this.env.LOADER.get(id, () => code)))));
      }
    }
    return { loadMs, codeBytes };
  }

  /**
   * Loads the installations at positions `offset` to `offset + count - 1` (in
   * installation order) and calls `ping` on each, so their isolates are
   * resident. Returns how many it loaded and how many installations there are.
   */
  async loadInstalled(offset: number, count: number): Promise<{ loaded: number; installations: number }> {
    const installations = this.store.list();
    const slice = installations.slice(offset, offset + count);
    for (const installation of slice) await this.#ping(loadPlugin(installation, this.#loaderContext()));
    return { loaded: slice.length, installations: installations.length };
  }

  /** Returns how many installations this tenant has. */
  async installationCount(): Promise<number> {
    return this.store.list().length;
  }

  // ---- Internals ------------------------------------------------------------------

  #loaderContext(): LoaderContext {
    // The same context the framework builds for its own loads.
    return { env: this.env, host: this.host, exports: this.ctx.exports as unknown as Record<string, LoopbackFactory | undefined> };
  }

  async #ping(worker: Promise<WorkerStub>): Promise<void> {
    const entrypoint = (await worker).getEntrypoint(HOOKS_ENTRYPOINT) as unknown as { ping(): Promise<unknown> };
    const build = await entrypoint.ping();
    if (typeof build !== "string") throw new Error(`the bench plugin's ping returned ${typeof build}, expected its build string`);
  }

  #hookPoint(name: string): HookPoint {
    const point = this.host.hookPoints.get(name);
    if (point === undefined) throw new Error(`the help desk declares no hook point ${name}`);
    return point;
  }

  /** Enabled installations subscribed to `point`, in the order dispatch calls them. */
  #subscribed(point: HookPoint): Installation[] {
    const subscribed = this.store.list().filter((installation) => installation.state === "enabled" && installation.manifest.hooks[point.name] !== undefined);
    // The framework's order: higher priority first, then earlier installation, then name.
    return subscribed.sort((a, b) => {
      const priority = (b.manifest.hooks[point.name]?.priority ?? 0) - (a.manifest.hooks[point.name]?.priority ?? 0);
      return priority || a.installedAt - b.installedAt || a.name.localeCompare(b.name);
    });
  }

  /**
   * Returns a function that calls every subscriber of `point` once, one after
   * another, on isolates loaded once up front: no payload or result
   * validation, no timeouts, no bookkeeping.
   */
  async #bareRound(point: HookPoint): Promise<{ count: number; run: (payload: unknown) => Promise<void> }> {
    const methods: { method: HookMethod; context: HookContext }[] = [];
    for (const installation of this.#subscribed(point)) {
      const subscription = installation.manifest.hooks[point.name];
      if (subscription === undefined) continue;
      const worker = await loadPlugin(installation, this.#loaderContext());
      const entrypoint = worker.getEntrypoint(subscription.entrypoint) as unknown as Record<string, HookMethod>;
      const context: HookContext = {
        tenant: installation.tenant,
        installation: installation.id,
        plugin: installation.name,
        version: installation.version,
        hook: point.name,
        depth: 0,
      };
      // An RPC stub's method must be called on the stub: `bind` would be sent as a remote call.
      const name = subscription.method;
      methods.push({ method: (payload, hookContext) => (entrypoint[name] as HookMethod)(payload, hookContext), context });
    }

    const chain = point.kind === "filter";
    return {
      count: methods.length,
      run: async (payload) => {
        let value = payload;
        for (const { method, context } of methods) {
          const result = await method(value, context);
          if (chain) value = result;
        }
      },
    };
  }

  /** Dispatches and raises unless each of the `expected` subscribers returned ok. */
  async #checkedDispatch(point: HookPoint, payload: unknown, expected: number): Promise<void> {
    const outcome = (await this.dispatch(point, payload as never)) as { calls: { plugin: string; status: string; error?: { code: string; message: string } }[] };
    const failed = outcome.calls.find((call) => call.status !== "ok");
    if (failed !== undefined) {
      throw new Error(`bench plugin ${failed.plugin} failed in ${point.name}: ${failed.error?.code ?? failed.status}: ${failed.error?.message ?? ""}`);
    }
    if (outcome.calls.length !== expected) {
      throw new Error(`${point.name} reached ${outcome.calls.length} plugins, expected ${expected}`);
    }
  }
}

/** Returns the sample payload of a help desk hook point. */
function payloadFor(point: HookPoint): unknown {
  if (point.name === "ticket.beforeCreate") return sampleDraft();
  if (point.name === "ticket.created") return sampleTicket();
  throw new Error(`the bench has no sample payload for ${point.name}`);
}

/**
 * Returns an installation of a package that is not stored, so its isolate ID is
 * new. Fields the loader does not read may be added to `Installation` by the
 * framework over time; the cast keeps this record valid for loading meanwhile.
 */
function benchInstallation(tenant: string, name: string, version: string, digest: string, manifest: Installation["manifest"]): Installation {
  const now = Date.now();
  const installation = {
    id: crypto.randomUUID(),
    tenant,
    name,
    version,
    digest,
    manifest,
    grants: {},
    config: {},
    state: "enabled",
    installedAt: now,
    updatedAt: now,
    revision: 1,
    consecutiveFailures: 0,
    lastError: null,
    egress: { allowed: 0, refused: 0 },
    pendingUpgrade: null,
  };
  return installation as Installation;
}
