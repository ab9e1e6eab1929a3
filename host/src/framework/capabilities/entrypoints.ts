/**
 * The framework's capability entrypoints. The host's main module exports them
 * (under these names unless the host definition says otherwise), so that
 * `ctx.exports` can make bindings of them with per-installation props.
 *
 * @module
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { StorageEntry } from "@berth/plugin-sdk";
import { BerthError } from "@berth/plugin-sdk/errors";

import type { BerthEnv } from "../env.ts";
import { toPluginError, unwrap, type Result } from "../rpc.ts";
import { DROPPED_LOG_LEVEL, MAX_LOG_LINE_LENGTH, MAX_LOG_LINES_PER_CALL } from "../tenants/store.ts";
import type { TenantObject } from "../tenants/tenant-object.ts";
import { parseProps, type CapabilityProps } from "./props.ts";

/** Returns the stub of a tenant's Durable Object. */
export function tenantStub<T extends TenantObject = TenantObject>(env: BerthEnv, tenant: string): DurableObjectStub<T> {
  const namespace = env.TENANTS as unknown as DurableObjectNamespace<T>;
  return namespace.get(namespace.idFromName(tenant));
}

/**
 * Base of every capability entrypoint: validates its props on each call and turns
 * coded errors into messages the plugin can read. Subclasses set `capability`.
 */
export abstract class CapabilityEntrypoint<Env extends BerthEnv = BerthEnv> extends WorkerEntrypoint<Env> {
  protected abstract readonly capability: string;

  /** Returns the validated props; raises `ERR_CAPABILITY_PROPS_INVALID`. */
  protected props(): CapabilityProps {
    return parseProps(this.ctx.props, this.capability);
  }

  /** Returns the validated props, raising `ERR_CAPABILITY_PROPS_INVALID` as the plugin reads it. */
  protected pluginProps(): CapabilityProps {
    try {
      return this.props();
    } catch (error) {
      if (error instanceof BerthError) throw toPluginError(error);
      throw error;
    }
  }

  /** Runs a capability call; a `BerthError` reaches the plugin as `CODE: message`. */
  protected async run<T>(task: (props: CapabilityProps) => Promise<Result<T>>): Promise<T> {
    try {
      return unwrap(await task(this.props()));
    } catch (error) {
      if (error instanceof BerthError) throw toPluginError(error);
      throw error;
    }
  }
}

/** The `storage` capability: the installation's own key-value store in its tenant. */
export class BerthStorage extends CapabilityEntrypoint {
  protected readonly capability = "storage";

  async get(key: string): Promise<unknown> {
    return this.run((props) => tenantStub(this.env, props.tenant).storage(props, { op: "get", key }));
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.run((props) => tenantStub(this.env, props.tenant).storage(props, { op: "put", key, value }));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run((props) => tenantStub(this.env, props.tenant).storage(props, { op: "delete", key }))) as boolean;
  }

  async list(options: { prefix?: string; limit?: number } = {}): Promise<StorageEntry[]> {
    const operation: { op: "list"; prefix?: string; limit?: number } = { op: "list" };
    if (typeof options.prefix === "string") operation.prefix = options.prefix;
    if (typeof options.limit === "number") operation.limit = options.limit;
    return (await this.run((props) => tenantStub(this.env, props.tenant).storage(props, operation))) as StorageEntry[];
  }
}

/**
 * The `network` capability: the `globalOutbound` of plugins with a network grant.
 * Every request is counted and logged; one to a host outside the grant, or over
 * plain http outside local development, is refused before it leaves.
 */
export class BerthEgress extends CapabilityEntrypoint {
  protected readonly capability = "network";

  override async fetch(request: Request): Promise<Response> {
    const props = this.pluginProps();
    const allowed = await this.run(() => tenantStub(this.env, props.tenant).checkEgress(props, request.method, request.url));
    if (!allowed) {
      const host = new URL(request.url).host;
      throw toPluginError(
        new BerthError(
          "ERR_EGRESS_NOT_ALLOWED",
          `${props.plugin} may not send requests to ${host}; its network grant allows ${props.grant.hosts?.join(", ") ?? "no hosts"} over ${this.env.BERTH_DEV === "true" ? "http or https" : "https"}`,
        ),
      );
    }
    return this.upstream(request, props);
  }

  /** Sends an allowed request on. Hosts override this to route or observe egress. */
  protected upstream(request: Request, _props: CapabilityProps): Promise<Response> {
    return fetch(request);
  }
}

// Lines are cut here only to bound the RPC. The tenant's Durable Object masks
// secret config values before it cuts lines to MAX_LOG_LINE_LENGTH, so this cut
// leaves room for a secret that starts inside the kept part. Config strings have
// at most 2,000 characters, and the longest masked form of one, its UTF-8 bytes
// written "\xNN", has at most 12 characters per character.
const MAX_FORWARDED_LINE_LENGTH = MAX_LOG_LINE_LENGTH + 12 * 2_000;

/** Log line for a plugin call whose console output the runtime cut short. */
export const TRUNCATED_NOTICE = "the runtime stopped recording this plugin call's console output at its log size limit; later lines were neither kept nor counted";

/**
 * Receives a plugin's console output (as its tail) and appends it to its log. Of
 * each plugin call it forwards at most {@link MAX_LOG_LINES_PER_CALL} console
 * lines and every exception; the other lines reach the store as one count, so a
 * plugin logging in a tight loop costs the tenant's Durable Object little.
 */
export class BerthLogTail extends CapabilityEntrypoint {
  protected readonly capability = "logs";

  override async tail(events: TraceItem[]): Promise<void> {
    const props = this.pluginProps();
    const lines: { level: string; message: string; at: number }[] = [];
    let dropped = 0;
    for (const event of events) {
      // workerd stops recording a request's console output after 256 KB, ends the
      // list with its own notice and sets `truncated` (seen with workerd 1.20261117).
      const received = event.truncated ? event.logs.slice(0, -1) : event.logs;
      const logs = received.slice(0, MAX_LOG_LINES_PER_CALL);
      dropped += received.length - logs.length;
      for (const log of logs) lines.push({ level: log.level, message: formatLog(log.message), at: log.timestamp });
      if (event.truncated) lines.push({ level: "warn", message: TRUNCATED_NOTICE, at: event.logs.at(-1)?.timestamp ?? Date.now() });
      for (const exception of event.exceptions) {
        lines.push({ level: "error", message: `${exception.name}: ${exception.message}`.slice(0, MAX_FORWARDED_LINE_LENGTH), at: exception.timestamp });
      }
    }
    if (dropped > 0) lines.push({ level: DROPPED_LOG_LEVEL, message: String(dropped), at: Date.now() });
    if (lines.length > 0) await tenantStub(this.env, props.tenant).appendLogs(props, lines);
  }
}

function formatLog(message: unknown): string {
  const parts = Array.isArray(message) ? message : [message];
  return parts
    .map((part) => (typeof part === "string" ? part : safeJson(part)))
    .join(" ")
    .slice(0, MAX_FORWARDED_LINE_LENGTH);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
