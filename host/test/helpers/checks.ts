/**
 * Test helpers that look past the HTTP API: rejected RPC calls, bounded polling
 * for tail events, and the framework's tables inside a tenant's Durable Object.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

import { tenantStub } from "../../src/framework/index.ts";

/** Returns the message of the error `call` rejects with; fails the test if it resolves. */
export async function rejection(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the call to be rejected");
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Maximum number of calls of `read`; 50 by default. */
  attempts?: number;
  /** Wait between calls, in milliseconds; 20 by default. */
  intervalMs?: number;
}

/**
 * Calls `read` until `done` accepts its value or the attempts run out, and returns
 * the last value. Tail events reach the log after the call that logged returns,
 * so tests that read logs poll with this.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 50;
  const intervalMs = options.intervalMs ?? 20;
  let value = await read();
  for (let attempt = 1; attempt < attempts && !done(value); attempt += 1) {
    await scheduler.wait(intervalMs);
    value = await read();
  }
  return value;
}

/** The framework's rows in one tenant's Durable Object, read directly from SQLite. */
export interface TenantTables {
  installations: { id: string; name: string; version: string; state: string; revision: number }[];
  storage: { installationId: string; key: string }[];
  /** Storage rows whose installation ID has no installation row. */
  orphanStorage: number;
  /** Log rows whose installation ID has no installation row. */
  orphanLogs: number;
}

/** Reads the framework's tables of a tenant with `runInDurableObject`. */
export async function tenantTables(tenant: string): Promise<TenantTables> {
  return runInDurableObject(tenantStub(env, tenant), (_instance, state) => {
    const sql = state.storage.sql;
    const installations = sql
      .exec<{ id: string; name: string; version: string; state: string; revision: number }>("SELECT id, name, version, state, revision FROM berth_installations ORDER BY name")
      .toArray();
    const storage = sql
      .exec<{ installationId: string; key: string }>("SELECT installation_id AS installationId, key FROM berth_storage ORDER BY installation_id, key")
      .toArray();
    const orphanStorage = sql
      .exec<{ count: number }>("SELECT COUNT(*) AS count FROM berth_storage WHERE installation_id NOT IN (SELECT id FROM berth_installations)")
      .one().count;
    const orphanLogs = sql
      .exec<{ count: number }>("SELECT COUNT(*) AS count FROM berth_logs WHERE installation_id NOT IN (SELECT id FROM berth_installations)")
      .one().count;
    return { installations, storage, orphanStorage, orphanLogs };
  });
}
