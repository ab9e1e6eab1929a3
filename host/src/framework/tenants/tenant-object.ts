/**
 * The tenant's Durable Object: installations and their lifecycle, plugin storage
 * and logs, and hook dispatch. One instance per tenant, so admin changes of one
 * tenant are serialized here and never touch another tenant's state.
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import type { HookContext, LifecycleContext } from "@berth/plugin-sdk";
import { BerthError, type ErrorCode } from "@berth/plugin-sdk/errors";
import { utf8Length, type LifecycleEvent } from "@berth/plugin-sdk/package";
import semver from "semver";
import * as v from "valibot";

import { acceptedGrants, consentNeeded, keptGrants, resolveGrants, type Grants } from "../capabilities/grants.ts";
import { hostMatches } from "../capabilities/catalogue.ts";
import type { CapabilityProps } from "../capabilities/props.ts";
import type { BerthEnv } from "../env.ts";
import type { Host } from "../host.ts";
import type { AnySchema, HookPoint } from "../hooks/hook-point.ts";
import { runHook, type CallRecord, type OutcomeOf, type Subscriber } from "../hooks/dispatch.ts";
import { loadPlugin, type LoaderContext, type LoopbackFactory } from "../loader/plugin-loader.ts";
import type { BlockReason } from "../registry/blocking.ts";
import { registryStub } from "../registry/publish.ts";
import type { PackageRecord } from "../registry/registry-object.ts";
import { toResult, unwrap, type Result } from "../rpc.ts";
import { SerialQueue, describeError, withTimeout } from "../util.ts";
import { resolveConfig, secretValues } from "./config.ts";
import { toView, type Installation, type InstallationView } from "./installation.ts";
import { TenantStore, type LogLine } from "./store.ts";

/** Most Worker stubs one tenant object keeps for reuse. */
const MAX_CACHED_WORKERS = 256;

/** Timeout of one lifecycle call, in milliseconds. */
export const LIFECYCLE_TIMEOUT_MS = 10_000;

/**
 * Time a tenant object relies on the registry's result that a version may be
 * loaded, in milliseconds. A revocation or yank reaches indexed tenants at once,
 * and this bounds how long a tenant the fan-out missed keeps loading the version.
 */
export const LOADABLE_TTL_MS = 60_000;

/** Storage limits of one installation. */
export const STORAGE_LIMITS = { keyLength: 512, valueBytes: 64 * 1024, totalBytes: 1024 * 1024, listMax: 1000 } as const;

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

/** One storage operation of the `storage` capability. */
export type StorageOperation =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: unknown }
  | { op: "delete"; key: string }
  | { op: "list"; prefix?: string; limit?: number };

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
  // Secret values of config shapes a lifecycle hook ran with before they were stored (or
  // never stored, when the hook failed), so console lines the tail delivers later are
  // masked too. Kept in memory for a minute after the call; tails arrive within that.
  readonly #triedSecrets = new Map<string, { values: string[]; until: number }>();
  // Worker stubs by the shape of their isolate, oldest first; a shape that changes is never asked for again.
  readonly #workers = new Map<string, WorkerStub>();
  // Time the registry last confirmed a name@version may be loaded; blockInstallation removes the entry.
  readonly #loadable = new Map<string, number>();

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

        const now = Date.now();
        const installation: Installation = {
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
        let installation = this.#require(name);
        if (change.consent !== undefined) installation = await this.#answerConsent(installation, change);
        else if (change.package !== undefined) installation = await this.#upgrade(installation, change.package, change);
        else {
          if (change.grants !== undefined) installation = this.#regrant(installation, change.grants);
          if (change.config !== undefined) installation = await this.#configure(installation, change.config);
        }
        if (change.state !== undefined) installation = await this.#setState(installation, change.state);
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
          console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: uninstall hook failed: ${describeError(error)}`);
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
      this.#disableWithReason(installation, reason);
      return true;
    });
  }

  // ---- Capability API, called by capability entrypoints -------------------------

  /** Runs one storage operation for the installation named in `props`. */
  async storage(props: CapabilityProps, operation: StorageOperation): Promise<Result<unknown>> {
    return toResult(async () => {
      const installation = this.authorize(props, "storage");
      return this.#storage(installation.id, operation);
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
      this.store.appendLog(installation.id, allowed ? "egress" : "warn", `egress ${allowed ? "allowed" : "refused"}: ${method} ${parsed.protocol}//${parsed.host}${parsed.pathname}`);
      return allowed;
    });
  }

  /** Appends lines from the plugin's console to its log. */
  async appendLogs(props: CapabilityProps, lines: { level: string; message: string; at: number }[]): Promise<void> {
    const installation = this.store.byId(props.installation);
    if (installation === undefined || installation.tenant !== props.tenant) return;
    const tried = this.#triedSecrets.get(installation.id);
    const recent = tried !== undefined && tried.until > Date.now() ? tried.values : [];
    const secrets = [...secretValues(installation.manifest, installation.config), ...recent].sort((a, b) => b.length - a.length);
    for (const line of lines) this.store.appendLog(installation.id, line.level, mask(line.message, secrets), line.at);
  }

  /**
   * Returns the live installation behind `props` if it still holds `capability`.
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
        invoke: (input) => this.#invokeHook(installation, point, subscription, input, depth),
      });
    }

    const run = runHook(point, parsed.output, subscribers, (subscriber, record) => this.#recordCall(subscriber, point, record));
    if (point.kind === "event" && options.background === true) {
      this.ctx.waitUntil(run);
      return { calls: [], background: true } as unknown as OutcomeOf<H>;
    }
    return run;
  }

  /**
   * Returns the depth a dispatch started for the installation behind `props` gets:
   * one more than the deepest of its hook calls in flight, or 0 when none is. The
   * host knows this itself, so a plugin cannot reset its depth.
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
      // A stub is reused while everything that shapes the isolate stays the same: making a
      // new one (with its tail) per call cost more than the call itself in the warm
      // dispatch benchmark. The key holds the isolate ID's inputs as plain JSON, so equal
      // shapes written in another key order only miss the cache; loadPlugin then
      // computes the canonical isolate ID.
      const shape = `${installation.id}\n${installation.digest}\n${JSON.stringify(installation.grants)}\n${JSON.stringify(installation.config)}`;
      let worker = this.#workers.get(shape);
      if (worker === undefined) {
        worker = await loadPlugin(installation, this.#loaderContext());
        if (this.#workers.size >= MAX_CACHED_WORKERS) this.#workers.delete(this.#workers.keys().next().value as string);
        this.#workers.set(shape, worker);
      }
      return worker;
    } catch (error) {
      if (error instanceof BerthError && error.code === "ERR_PACKAGE_CODE_ALTERED") {
        this.#disableWithReason(installation, { code: error.code, message: error.message, during: "load" });
      }
      throw error;
    }
  }

  // Asks the registry again once LOADABLE_TTL_MS has passed since its last confirmation for this name@version.
  async #checkLoadable(installation: Installation): Promise<void> {
    const label = `${installation.name}@${installation.version}`;
    const checkedAt = this.#loadable.get(label);
    if (checkedAt !== undefined && Date.now() - checkedAt < LOADABLE_TTL_MS) return;
    const result = await registryStub(this.env).checkLoadable({ tenant: installation.tenant, name: installation.name, version: installation.version });
    try {
      unwrap(result);
    } catch (error) {
      if (error instanceof BerthError) this.#disableWithReason(installation, { code: error.code, message: error.message, during: "load" });
      throw error;
    }
    this.#loadable.set(label, Date.now());
  }

  /**
   * Disables the stored installation with `reason` as its `lastError`, if it is
   * stored at the same version and not being installed or uninstalled (those
   * fail and clean up on their own).
   */
  #disableWithReason(installation: Installation, reason: BlockReason): void {
    const stored = this.store.byId(installation.id);
    if (stored === undefined || stored.version !== installation.version || stored.state === "installing" || stored.state === "uninstalling") return;

    const lastError = { code: reason.code, message: reason.message, during: reason.during, at: new Date().toISOString() };
    this.store.save({ ...stored, state: "disabled", updatedAt: Date.now(), lastError });
    this.store.appendLog(stored.id, "warn", `disabled after ${reason.during}: ${reason.code}: ${reason.message}`);
    console.warn(`berth tenant=${stored.tenant} plugin=${stored.name}@${stored.version}: disabled after ${reason.during}: ${reason.code}`);
  }

  #track(installation: Installation): Promise<void> {
    return registryStub(this.env).track({ tenant: installation.tenant, name: installation.name, version: installation.version });
  }

  // An index entry left behind only costs a no-op call at the next revocation or yank, so a failure here is logged, not raised.
  async #untrack(installation: Installation): Promise<void> {
    try {
      await registryStub(this.env).untrack({ tenant: installation.tenant, name: installation.name, version: installation.version });
    } catch (error) {
      console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: could not remove the version from the registry's index: ${describeError(error)}`);
    }
  }

  #require(name: string): Installation {
    const installation = this.store.byName(name);
    if (installation === undefined || installation.state === "installing") {
      throw new BerthError("ERR_INSTALLATION_NOT_FOUND", `${name} is not installed in this tenant; see GET .../installations`, { path: "name" });
    }
    return installation;
  }

  async #invokeHook(
    installation: Installation,
    point: HookPoint,
    subscription: { entrypoint: string; method: string },
    payload: unknown,
    depth: number,
  ): Promise<unknown> {
    const worker = await this.#load(installation);
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
    const depths = this.#inFlight.get(installation.id) ?? [];
    depths.push(depth);
    this.#inFlight.set(installation.id, depths);
    try {
      return await withTimeout(
        Promise.resolve(method(payload, context)),
        point.timeoutMs,
        () => new BerthError("ERR_HOOK_TIMEOUT", `${installation.name} did not answer ${point.name} within ${point.timeoutMs} ms`),
      );
    } catch (error) {
      if (error instanceof BerthError) throw error;
      // workerd cancels a call whose promise can never settle (no pending I/O or timer) at once.
      // The plugin's own message may quote its secret config; the caller sees it masked.
      const detail = mask(describeError(error), secretValues(installation.manifest, installation.config));
      if (detail.includes("had hung")) {
        throw new BerthError("ERR_HOOK_TIMEOUT", `${installation.name} hung in ${point.name}: its promise could never settle`, { cause: error });
      }
      throw new BerthError("ERR_HOOK_FAILED", `${installation.name} threw in ${point.name}: ${detail}`, { cause: error });
    } finally {
      depths.splice(depths.indexOf(depth), 1);
      if (depths.length === 0) this.#inFlight.delete(installation.id);
    }
  }

  #recordCall(subscriber: Subscriber, point: HookPoint, record: CallRecord): void {
    if (record.status === "ok") {
      this.store.resetFailures(subscriber.installationId);
      return;
    }
    const code: ErrorCode = record.error?.code ?? "ERR_HOOK_FAILED";
    const message = record.error?.message ?? "the hook failed";
    const at = new Date().toISOString();
    const current = this.store.byId(subscriber.installationId);
    const secrets = current === undefined ? [] : secretValues(current.manifest, current.config);
    const masked = mask(message, secrets);
    const failures = this.store.recordFailure(subscriber.installationId, { code, message: masked, during: point.name, at });
    this.store.appendLog(subscriber.installationId, "error", `${point.name}: ${code}: ${masked}`);
    console.warn(`berth plugin=${subscriber.plugin}@${subscriber.version} hook=${point.name}: ${code}`);

    // Past the limit the installation is disabled until a tenant admin enables it again.
    const installation = this.store.byId(subscriber.installationId);
    if (installation?.state === "enabled" && failures >= this.host.maxConsecutiveFailures) {
      const reason = `disabled automatically after ${failures} consecutive failed hook calls; the last was ${code} in ${point.name}`;
      this.store.save({ ...installation, state: "disabled", updatedAt: Date.now(), lastError: { code, message: reason, during: point.name, at } });
      this.store.appendLog(installation.id, "warn", reason);
      console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: ${reason}`);
    }
  }

  async #lifecycle(installation: Installation, event: LifecycleEvent, previousVersion?: string): Promise<void> {
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

    const values = secretValues(installation.manifest, installation.config);
    if (values.length > 0) {
      const earlier = this.#triedSecrets.get(installation.id);
      const kept = earlier !== undefined && earlier.until > Date.now() ? earlier.values : [];
      this.#triedSecrets.set(installation.id, { values: [...new Set([...kept, ...values])], until: Date.now() + LIFECYCLE_TIMEOUT_MS + 60_000 });
    }

    try {
      const worker = await this.#load(installation);
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
              `${label} failed its ${event} hook: ${mask(describeError(error), secretValues(installation.manifest, installation.config))}`,
              { cause: error },
            );
      this.store.appendLog(installation.id, "error", `${event}: ${failure.code}: ${failure.message}`);
      throw failure;
    }
  }

  /**
   * Upgrades to a greater version, or with `downgrade` to a lower one. Without
   * explicit `grants`, a change that asks for more than the tenant consented to is
   * stored as pending while the current version keeps running; PATCH `consent`
   * then accepts or declines it.
   */
  async #upgrade(current: Installation, next: PackageRecord, change: InstallationChange): Promise<Installation> {
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
        await this.#track({ ...current, version: next.version });
        this.store.save(waiting);
        this.store.appendLog(current.id, "info", `upgrade to ${next.version} waits for consent to ${asks.join(", ")}`);
        return waiting;
      }
    }
    return this.#switchVersion(current, next, change.grants ?? keptGrants(current.grants, next.manifest), change.config, change.actor);
  }

  async #answerConsent(current: Installation, change: InstallationChange): Promise<Installation> {
    const pending = current.pendingUpgrade;
    if (pending === null) {
      throw new BerthError("ERR_REQUEST_INVALID", `${current.name} has no upgrade waiting for consent`, { path: "body.consent" });
    }
    if (change.consent === "decline") {
      const declined = { ...current, pendingUpgrade: null, updatedAt: Date.now() };
      this.store.save(declined);
      await this.#untrack({ ...current, version: pending.version });
      this.store.appendLog(current.id, "info", `upgrade to ${pending.version} declined; staying on ${current.version}`);
      return declined;
    }

    // Accepting grants what the new version asks for, unless the admin narrows it with grants.
    const grants = change.grants ?? acceptedGrants(current.grants, pending.manifest, pending.asks);
    return this.#switchVersion(current, pending, grants, change.config, change.actor);
  }

  /**
   * Moves to another version. The new version is in the registry's index before
   * its upgrade hook runs, and the old one leaves it once the move is stored. A
   * move to a lower version (only reached with `downgrade: true`) is written to
   * the log as an audit line naming `actor`, and does not set `lastError`.
   */
  async #switchVersion(
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

    await this.#track(candidate);
    try {
      await this.#lifecycle(candidate, "upgrade", current.version);
    } catch (error) {
      await this.#untrack(candidate);
      throw error;
    }
    this.store.save(candidate);
    await this.#untrack(current);

    if (semver.lt(candidate.version, current.version)) {
      const audit = `downgraded from ${current.version} to ${candidate.version} on explicit request by ${actor ?? "an unnamed caller"}`;
      this.store.appendLog(candidate.id, "audit", audit);
      console.log(`berth audit tenant=${candidate.tenant} plugin=${candidate.name}: ${audit}`);
    } else {
      this.store.appendLog(candidate.id, "info", `upgraded from ${current.version} to ${candidate.version}`);
    }
    return candidate;
  }

  #regrant(current: Installation, grants: Grants): Installation {
    const candidate = { ...current, grants: resolveGrants(current.manifest, grants), updatedAt: Date.now(), revision: current.revision + 1 };
    this.store.save(candidate);
    this.store.appendLog(candidate.id, "info", `grants changed to ${Object.keys(candidate.grants).join(", ") || "none"}`);
    return candidate;
  }

  async #configure(current: Installation, config: unknown): Promise<Installation> {
    const candidate = { ...current, config: resolveConfig(current.manifest, config, current.config), updatedAt: Date.now(), revision: current.revision + 1 };
    await this.#lifecycle(candidate, "configure");
    this.store.save(candidate);
    this.store.appendLog(candidate.id, "info", "config changed");
    return candidate;
  }

  async #setState(current: Installation, state: "enabled" | "disabled"): Promise<Installation> {
    if (current.state === state) return current;
    const candidate = { ...current, state, updatedAt: Date.now(), consecutiveFailures: 0 };

    if (state === "enabled") {
      // A yanked version or a revoked key stays disabled, with or without an enable hook.
      await this.#checkLoadable(candidate);
      await this.#lifecycle(candidate, "enable");
      this.store.save(candidate);
    } else {
      // Dispatch stops before the disable hook runs; its failure does not block disabling.
      this.store.save(candidate);
      await this.#lifecycle(candidate, "disable").catch(() => undefined);
    }
    this.store.appendLog(candidate.id, "info", `state changed to ${state}`);
    return candidate;
  }

  async #storage(id: string, operation: StorageOperation): Promise<unknown> {
    if (operation.op === "list") {
      const limit = Math.min(Math.max(1, Math.trunc(operation.limit ?? STORAGE_LIMITS.listMax)), STORAGE_LIMITS.listMax);
      const prefix = typeof operation.prefix === "string" ? operation.prefix : "";
      return this.store.storageList(id, prefix, limit).map((entry) => ({ key: entry.key, value: JSON.parse(entry.value) as unknown }));
    }

    const { key } = operation;
    if (typeof key !== "string" || key.length === 0 || key.length > STORAGE_LIMITS.keyLength) {
      throw new BerthError("ERR_STORAGE_INVALID", `storage keys must be strings of 1 to ${STORAGE_LIMITS.keyLength} characters`, { path: "key" });
    }
    if (operation.op === "get") {
      const value = this.store.storageGet(id, key);
      return value === undefined ? null : (JSON.parse(value) as unknown);
    }
    if (operation.op === "delete") return this.store.storageDelete(id, key);

    const encoded = JSON.stringify(operation.value);
    if (encoded === undefined) {
      throw new BerthError("ERR_STORAGE_INVALID", "storage values must be JSON values; undefined and functions cannot be stored", { path: "value" });
    }
    const bytes = utf8Length(encoded);
    if (bytes > STORAGE_LIMITS.valueBytes) {
      throw new BerthError("ERR_STORAGE_INVALID", `the value is ${bytes} bytes once encoded; at most ${STORAGE_LIMITS.valueBytes} are allowed`, { path: "value" });
    }
    const previous = this.store.storageGet(id, key);
    const used = this.store.storageBytes(id) - (previous === undefined ? 0 : utf8Length(key) + utf8Length(previous));
    if (used + utf8Length(key) + bytes > STORAGE_LIMITS.totalBytes) {
      throw new BerthError("ERR_STORAGE_INVALID", `the installation's storage quota of ${STORAGE_LIMITS.totalBytes} bytes is used up; delete keys first`, {
        path: "value",
      });
    }
    this.store.storagePut(id, key, encoded);
    return null;
  }
}

/** Replaces every secret value in a log line with a marker. */
function mask(message: string, secrets: readonly string[]): string {
  let masked = message;
  for (const secret of secrets) masked = masked.split(secret).join("[secret]");
  return masked;
}
