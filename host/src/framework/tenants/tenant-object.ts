/**
 * The tenant's Durable Object: installations and their lifecycle, plugin storage
 * and logs, and hook dispatch. One instance per tenant, so admin changes of one
 * tenant are serialized here and never touch another tenant's state.
 *
 * The steps live in the modules next to this one: installation-changes.ts (the
 * admin API's changes), lifecycle.ts, hook-calls.ts, storage-operations.ts,
 * secrets.ts, load-checks.ts, registry-index.ts and worker-cache.ts.
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import { BerthError } from "@berth/plugin-sdk/errors";
import type { LifecycleEvent } from "@berth/plugin-sdk/package";
import * as v from "valibot";

import { hostMatches } from "../capabilities/catalogue.ts";
import type { CapabilityProps } from "../capabilities/props.ts";
import type { BerthEnv } from "../env.ts";
import type { Host } from "../host.ts";
import type { AnySchema, HookPoint } from "../hooks/hook-point.ts";
import { runHook, type OutcomeOf, type Subscriber } from "../hooks/dispatch.ts";
import type { LoaderContext, LoopbackFactory } from "../loader/plugin-loader.ts";
import type { BlockReason } from "../registry/blocking.ts";
import { toResult, type Result } from "../rpc.ts";
import { SerialQueue, describeError } from "../util.ts";
import { maskSecrets } from "./config.ts";
import { invokeHook, recordCall, type HookCaller } from "./hook-calls.ts";
import { toView, type Installation, type InstallationView } from "./installation.ts";
import {
  answerConsent,
  configure,
  newInstallation,
  regrant,
  setState,
  upgrade,
  type ChangeContext,
  type InstallationChange,
  type InstallRequest,
} from "./installation-changes.ts";
import { callLifecycle } from "./lifecycle.ts";
import { escapeControlCharacters } from "./log-text.ts";
import { checkLoadable, disableWithReason } from "./load-checks.ts";
import { track, untrack } from "./registry-index.ts";
import { secretsToMask, type TriedSecrets } from "./secrets.ts";
import { runStorageOperation, type StorageOperation } from "./storage-operations.ts";
import { TenantStore, type LogLine } from "./store.ts";
import { cachedWorker } from "./worker-cache.ts";

export type { InstallationChange, InstallRequest } from "./installation-changes.ts";
export { LIFECYCLE_TIMEOUT_MS } from "./lifecycle.ts";
export { LOADABLE_TTL_MS } from "./load-checks.ts";
export { STORAGE_LIMITS, type StorageOperation } from "./storage-operations.ts";

/** Options of a dispatch. */
export interface DispatchOptions {
  /**
   * How many dispatches enclose this one; see `HookContext.depth`. App code that
   * acts for a plugin passes {@link TenantObject.callerDepth} here.
   */
  depth?: number;
  /**
   * For `event` hook points: return at once and let the calls finish after the
   * response (`ctx.waitUntil`). The outcome then has no calls.
   */
  background?: boolean;
}

/**
 * The framework's tenant Durable Object. A host extends it to add its app data
 * and passes its {@link Host} definition in `host`; the host's app methods call
 * {@link TenantObject.dispatch}.
 */
export abstract class TenantObject<Env extends BerthEnv = BerthEnv> extends DurableObject<Env> {
  protected abstract readonly host: Host;
  protected readonly store: TenantStore;
  readonly #admin = new SerialQueue();
  // Depths of the hook calls in flight, by installation ID, to give nested dispatches their depth.
  readonly #inFlight = new Map<string, number[]>();
  // Secret values a lifecycle hook ran with, so console lines the tail delivers later are masked too.
  readonly #triedSecrets: TriedSecrets = new Map();
  // Worker stubs by the shape of their isolate, oldest first; a shape that changes is never asked for again.
  readonly #workers = new Map<string, WorkerStub>();
  // Time the registry last confirmed a name@version may be loaded; blockInstallation removes the entry.
  readonly #loadable = new Map<string, number>();
  readonly #hookCaller: HookCaller = { load: (installation) => this.#load(installation), inFlight: this.#inFlight };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new TenantStore(ctx.storage.sql);
  }

  // ---- Admin API, called by the host Worker -------------------------------------

  async listInstallations(): Promise<InstallationView[]> {
    return this.store.list().filter((installation) => installation.state !== "installing").map(toView);
  }

  async getInstallation(name: string): Promise<Result<InstallationView>> {
    return toResult(async () => toView(this.#require(name)));
  }

  /**
   * Installs a verified package with grants and config, calls its `install` and
   * `enable` lifecycle hooks, and returns the installation. A failed install
   * leaves nothing behind.
   */
  async install(tenant: string, request: InstallRequest): Promise<Result<InstallationView>> {
    return toResult(() =>
      this.#admin.run(async () => {
        const { manifest } = request.package;
        if (this.store.byName(manifest.name) !== undefined) {
          throw new BerthError("ERR_INSTALLATION_EXISTS", `${manifest.name} is already installed in tenant ${tenant}; upgrade it with PATCH instead`, {
            path: "name",
          });
        }

        const installation = newInstallation(tenant, request);

        // The row exists while the install hook runs, so the hook can use its storage.
        // The registry's index may list it early: a revocation reaching a tenant
        // that does not run the version changes nothing.
        this.store.save(installation);
        await this.#track(installation);
        try {
          await this.#lifecycle(installation, "install");
          if (request.enable !== false) await this.#lifecycle(installation, "enable");
        } catch (error) {
          this.store.purge(installation.id);
          await this.#untrack(installation);
          throw error;
        }

        installation.state = request.enable === false ? "installed" : "enabled";
        this.store.save(installation);
        this.store.appendLog(installation.id, "info", `installed ${installation.name}@${installation.version}, state ${installation.state}`);
        return toView(installation);
      }),
    );
  }

  /**
   * Upgrades, changes grants or config, enables or disables an installation. Each
   * lifecycle hook runs against the new shape before it is stored, so a failed
   * hook leaves the installation as it was.
   */
  async updateInstallation(name: string, change: InstallationChange): Promise<Result<InstallationView>> {
    return toResult(() =>
      this.#admin.run(async () => {
        const context = this.#changeContext();
        let installation = this.#require(name);
        if (change.consent !== undefined) installation = await answerConsent(context, installation, change);
        else if (change.package !== undefined) installation = await upgrade(context, installation, change.package, change);
        else {
          if (change.grants !== undefined) installation = regrant(this.store, installation, change.grants);
          if (change.config !== undefined) installation = await configure(context, installation, change.config);
        }
        if (change.state !== undefined) installation = await setState(context, installation, change.state);
        return toView(installation);
      }),
    );
  }

  /**
   * Uninstalls: dispatch stops first, then the `uninstall` hook runs (its failure
   * is logged, not fatal), then storage, logs and the installation are purged.
   */
  async uninstall(name: string): Promise<Result<{ name: string; version: string }>> {
    return toResult(() =>
      this.#admin.run(async () => {
        const installation = this.#require(name);
        this.store.save({ ...installation, state: "uninstalling", updatedAt: Date.now() });
        try {
          await this.#lifecycle(installation, "uninstall");
        } catch (error) {
          console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: uninstall hook failed: ${escapeControlCharacters(describeError(error))}`);
        }
        this.store.purge(installation.id);
        await this.#untrack(installation);
        return { name: installation.name, version: installation.version };
      }),
    );
  }

  /** Returns the last `limit` log lines of an installation, oldest first. */
  async readLogs(name: string, limit: number): Promise<Result<LogLine[]>> {
    return toResult(async () => this.store.readLogs(this.#require(name).id, limit));
  }

  /**
   * Disables the installation of `name` if it runs `version`, with `reason` as its
   * `lastError`, after a key revocation or a yank. The API calls this for every
   * tenant in the registry's index. The disable hook is not called, because the
   * blocked code is never loaded again. A pending upgrade to `version` is
   * dropped. Returns whether an installation at `version` was disabled.
   */
  async blockInstallation(name: string, version: string, reason: BlockReason): Promise<boolean> {
    return this.#admin.run(async () => {
      this.#loadable.delete(`${name}@${version}`);
      let installation = this.store.byName(name);
      if (installation === undefined) return false;

      if (installation.pendingUpgrade?.version === version) {
        installation = { ...installation, pendingUpgrade: null, updatedAt: Date.now() };
        this.store.save(installation);
        this.store.appendLog(installation.id, "warn", `pending upgrade to ${version} dropped: ${reason.code}: ${reason.message}`);
      }
      if (installation.version !== version) return false;
      disableWithReason(this.store, installation, reason);
      return true;
    });
  }

  // ---- Capability API, called by capability entrypoints -------------------------

  /** Runs one storage operation for the installation named in `props`. */
  async storage(props: CapabilityProps, operation: StorageOperation): Promise<Result<unknown>> {
    return toResult(async () => {
      const installation = this.authorize(props, "storage");
      return runStorageOperation(this.store, installation.id, operation);
    });
  }

  /** Counts one outbound request and logs it; returns whether the grant allows it. */
  async checkEgress(props: CapabilityProps, method: string, url: string): Promise<Result<boolean>> {
    return toResult(async () => {
      const installation = this.authorize(props, "network");
      const parsed = new URL(url);
      const hosts = installation.grants["network"]?.hosts ?? [];
      const secure = parsed.protocol === "https:" || (parsed.protocol === "http:" && this.env.BERTH_DEV === "true");
      const allowed = secure && hosts.some((pattern) => hostMatches(parsed.host, pattern));

      this.store.countEgress(installation.id, allowed);
      // Masked with the query still on, so a secret that runs from the path into the
      // query is found whole; the query is then cut off at the first "?" left.
      const target = this.store.maskSecrets(installation.id, `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search}`).split("?")[0];
      this.store.appendLog(installation.id, allowed ? "egress" : "warn", `egress ${allowed ? "allowed" : "refused"}: ${method} ${target}`);
      return allowed;
    });
  }

  /** Appends lines from the plugin's console to its log. */
  async appendLogs(props: CapabilityProps, lines: { level: string; message: string; at: number }[]): Promise<void> {
    const installation = this.store.byId(props.installation);
    if (installation === undefined || installation.tenant !== props.tenant) return;
    const secrets = secretsToMask(this.#triedSecrets, installation);
    for (const line of lines) this.store.appendLog(installation.id, line.level, maskSecrets(line.message, secrets), line.at);
  }

  /**
   * Returns the live installation behind `props` if it still has a grant of `capability`.
   * Raises `ERR_CAPABILITY_NOT_GRANTED` otherwise, so an isolate made before a
   * grant was revoked gets nothing.
   */
  protected authorize(props: CapabilityProps, capability: string): Installation {
    const installation = this.store.byId(props.installation);
    if (installation === undefined || installation.tenant !== props.tenant || !Object.hasOwn(installation.grants, capability)) {
      throw new BerthError("ERR_CAPABILITY_NOT_GRANTED", `${props.plugin} has no ${capability} grant in tenant ${props.tenant}`);
    }
    return installation;
  }

  // ---- Dispatch, called by the host's app code ----------------------------------

  /**
   * Dispatches a hook point to this tenant's enabled subscribers and returns the
   * outcome of its kind. The payload is validated first; an invalid payload is a
   * bug in the app and raises `ERR_REQUEST_INVALID`. Plugin failures never
   * reject: they are recorded on the installation and in the outcome.
   */
  protected async dispatch<H extends HookPoint>(
    point: H,
    payload: v.InferInput<H["payload"]>,
    options: DispatchOptions = {},
  ): Promise<OutcomeOf<H>> {
    const parsed = v.safeParse(point.payload as AnySchema, payload);
    if (!parsed.success) {
      throw new BerthError("ERR_REQUEST_INVALID", `the payload of ${point.name} does not match its schema`, { path: "payload" });
    }
    const depth = options.depth ?? 0;
    if (depth > this.host.maxDispatchDepth) {
      throw new BerthError(
        "ERR_HOOK_DEPTH_EXCEEDED",
        `${point.name} would be dispatched at depth ${depth}; plugin hooks may nest dispatches at most ${this.host.maxDispatchDepth} deep`,
      );
    }

    // NOTE: warm dispatch to one plugin measured 1.13x a bare RPC call against a 1.10x
    // target (npm run bench, figure 1, 2-core AMD EPYC). The steps here (payload
    // validation, the subscriber scan, one timer per call, failure bookkeeping) add
    // 0.01 to 0.05 ms, about the run-to-run noise; one shared deadline timer per
    // dispatch instead of one per call is the largest saving left.
    // The subscriber set is fixed here; installs or disables during the dispatch do not change it.
    const subscribers: Subscriber[] = [];
    for (const installation of this.store.list()) {
      const subscription = installation.manifest.hooks[point.name];
      if (installation.state !== "enabled" || subscription === undefined) continue;
      subscribers.push({
        plugin: installation.name,
        version: installation.version,
        installationId: installation.id,
        priority: subscription.priority ?? 0,
        installedAt: installation.installedAt,
        invoke: (input) => invokeHook(this.#hookCaller, installation, point, subscription, input, depth),
      });
    }

    const run = runHook(point, parsed.output, subscribers, (subscriber, record) => recordCall(this.store, this.host.maxConsecutiveFailures, subscriber, point, record));
    if (point.kind === "event" && options.background === true) {
      this.ctx.waitUntil(run);
      return { calls: [], background: true } as unknown as OutcomeOf<H>;
    }
    return run;
  }

  /**
   * Returns the depth a dispatch started for the installation behind `props` gets:
   * one more than the deepest of its hook calls in flight, or 0 when none is. The
   * host tracks this itself, so a plugin cannot reset its depth.
   */
  protected callerDepth(props: CapabilityProps): number {
    const depths = this.#inFlight.get(props.installation);
    return depths === undefined || depths.length === 0 ? 0 : Math.max(...depths) + 1;
  }

  // ---- Internals ------------------------------------------------------------------

  #loaderContext(): LoaderContext {
    return { env: this.env, host: this.host, exports: this.ctx.exports as unknown as Record<string, LoopbackFactory | undefined> };
  }

  /**
   * Loads an installation's code after the registry confirmed that its version is
   * neither yanked nor signed by a revoked key. Code altered in storage disables
   * the installation with the reason.
   */
  async #load(installation: Installation): Promise<WorkerStub> {
    await this.#checkLoadable(installation);
    try {
      return await cachedWorker(this.#workers, installation, () => this.#loaderContext());
    } catch (error) {
      if (error instanceof BerthError && error.code === "ERR_PACKAGE_CODE_ALTERED") {
        disableWithReason(this.store, installation, { code: error.code, message: error.message, during: "load" });
      }
      throw error;
    }
  }

  #checkLoadable(installation: Installation): Promise<void> {
    return checkLoadable(this.env, this.store, this.#loadable, installation);
  }

  #lifecycle(installation: Installation, event: LifecycleEvent, previousVersion?: string): Promise<void> {
    const caller = { store: this.store, triedSecrets: this.#triedSecrets, load: (target: Installation) => this.#load(target) };
    return callLifecycle(caller, installation, event, previousVersion);
  }

  #track(installation: Installation): Promise<void> {
    return track(this.env, installation);
  }

  #untrack(installation: Installation): Promise<void> {
    return untrack(this.env, installation);
  }

  #changeContext(): ChangeContext {
    return {
      store: this.store,
      lifecycle: (installation, event, previousVersion) => this.#lifecycle(installation, event, previousVersion),
      track: (installation) => this.#track(installation),
      untrack: (installation) => this.#untrack(installation),
      checkLoadable: (installation) => this.#checkLoadable(installation),
    };
  }

  #require(name: string): Installation {
    const installation = this.store.byName(name);
    if (installation === undefined || installation.state === "installing") {
      throw new BerthError("ERR_INSTALLATION_NOT_FOUND", `${name} is not installed in this tenant; see GET .../installations`, { path: "name" });
    }
    return installation;
  }
}
