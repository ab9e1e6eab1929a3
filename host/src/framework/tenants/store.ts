/**
 * SQLite tables of a tenant's Durable Object that the framework owns: the
 * installations, each installation's key-value storage and its log.
 *
 * @module
 */
import type { Installation } from "./installation.ts";

/** Most log lines kept per installation; older lines are dropped first. */
export const MAX_LOG_LINES = 500;

/** Longest log line kept, in characters; longer lines are cut. */
export const MAX_LOG_LINE_LENGTH = 1_000;

/** One line of an installation's log. */
export interface LogLine {
  at: string;
  level: string;
  message: string;
}

type InstallationRow = {
  id: string;
  tenant: string;
  name: string;
  version: string;
  digest: string;
  manifest: string;
  grants: string;
  config: string;
  state: string;
  installed_at: number;
  updated_at: number;
  revision: number;
  consecutive_failures: number;
  last_error: string | null;
  egress_allowed: number;
  egress_refused: number;
  pending_upgrade: string | null;
};

/** Typed access to the framework's tables in one tenant's SQLite storage. */
export class TenantStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS berth_installations (
      id TEXT PRIMARY KEY,
      tenant TEXT NOT NULL,
      name TEXT NOT NULL UNIQUE,
      version TEXT NOT NULL,
      digest TEXT NOT NULL,
      manifest TEXT NOT NULL,
      grants TEXT NOT NULL,
      config TEXT NOT NULL,
      state TEXT NOT NULL,
      installed_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      revision INTEGER NOT NULL,
      consecutive_failures INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      egress_allowed INTEGER NOT NULL DEFAULT 0,
      egress_refused INTEGER NOT NULL DEFAULT 0,
      pending_upgrade TEXT
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS berth_storage (
      installation_id TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (installation_id, key)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS berth_logs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      installation_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS berth_logs_by_installation ON berth_logs (installation_id, seq)");
  }

  list(): Installation[] {
    return this.#sql.exec<InstallationRow>("SELECT * FROM berth_installations ORDER BY installed_at, name").toArray().map(fromRow);
  }

  byName(name: string): Installation | undefined {
    const row = this.#sql.exec<InstallationRow>("SELECT * FROM berth_installations WHERE name = ?", name).toArray()[0];
    return row === undefined ? undefined : fromRow(row);
  }

  byId(id: string): Installation | undefined {
    const row = this.#sql.exec<InstallationRow>("SELECT * FROM berth_installations WHERE id = ?", id).toArray()[0];
    return row === undefined ? undefined : fromRow(row);
  }

  /** Inserts or replaces an installation by ID. */
  save(installation: Installation): void {
    this.#sql.exec(
      `INSERT OR REPLACE INTO berth_installations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      installation.id,
      installation.tenant,
      installation.name,
      installation.version,
      installation.digest,
      JSON.stringify(installation.manifest),
      JSON.stringify(installation.grants),
      JSON.stringify(installation.config),
      installation.state,
      installation.installedAt,
      installation.updatedAt,
      installation.revision,
      installation.consecutiveFailures,
      installation.lastError === null ? null : JSON.stringify(installation.lastError),
      installation.egress.allowed,
      installation.egress.refused,
      installation.pendingUpgrade === null ? null : JSON.stringify(installation.pendingUpgrade),
    );
  }

  /** Deletes an installation with its storage and logs. */
  purge(id: string): void {
    this.#sql.exec("DELETE FROM berth_storage WHERE installation_id = ?", id);
    this.#sql.exec("DELETE FROM berth_logs WHERE installation_id = ?", id);
    this.#sql.exec("DELETE FROM berth_installations WHERE id = ?", id);
  }

  recordFailure(id: string, lastError: Installation["lastError"]): number {
    this.#sql.exec(
      "UPDATE berth_installations SET consecutive_failures = consecutive_failures + 1, last_error = ? WHERE id = ?",
      JSON.stringify(lastError),
      id,
    );
    return this.byId(id)?.consecutiveFailures ?? 0;
  }

  resetFailures(id: string): void {
    this.#sql.exec("UPDATE berth_installations SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures > 0", id);
  }

  countEgress(id: string, allowed: boolean): void {
    const column = allowed ? "egress_allowed" : "egress_refused";
    this.#sql.exec(`UPDATE berth_installations SET ${column} = ${column} + 1 WHERE id = ?`, id);
  }

  storageGet(id: string, key: string): string | undefined {
    return this.#sql.exec<{ value: string }>("SELECT value FROM berth_storage WHERE installation_id = ? AND key = ?", id, key).toArray()[0]?.value;
  }

  storagePut(id: string, key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO berth_storage VALUES (?, ?, ?)", id, key, value);
  }

  storageDelete(id: string, key: string): boolean {
    const existed = this.storageGet(id, key) !== undefined;
    this.#sql.exec("DELETE FROM berth_storage WHERE installation_id = ? AND key = ?", id, key);
    return existed;
  }

  /** Lists entries whose key starts with `prefix`, in key order. */
  storageList(id: string, prefix: string, limit: number): { key: string; value: string }[] {
    // substr() compares the prefix literally; LIKE would treat % and _ as wildcards.
    return this.#sql
      .exec<{ key: string; value: string }>(
        "SELECT key, value FROM berth_storage WHERE installation_id = ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?",
        id,
        prefix.length,
        prefix,
        limit,
      )
      .toArray();
  }

  /** Returns the bytes an installation's storage uses, counting keys and values. */
  storageBytes(id: string): number {
    const row = this.#sql
      .exec<{ bytes: number }>("SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB))), 0) AS bytes FROM berth_storage WHERE installation_id = ?", id)
      .toArray()[0];
    return row?.bytes ?? 0;
  }

  appendLog(id: string, level: string, message: string, at = Date.now()): void {
    this.#sql.exec(
      "INSERT INTO berth_logs (installation_id, at, level, message) VALUES (?, ?, ?, ?)",
      id,
      at,
      level,
      message.slice(0, MAX_LOG_LINE_LENGTH),
    );
    this.#sql.exec(
      `DELETE FROM berth_logs WHERE installation_id = ? AND seq <= (
        SELECT seq FROM berth_logs WHERE installation_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?
      )`,
      id,
      id,
      MAX_LOG_LINES,
    );
  }

  readLogs(id: string, limit: number): LogLine[] {
    return this.#sql
      .exec<{ at: number; level: string; message: string }>(
        "SELECT at, level, message FROM berth_logs WHERE installation_id = ? ORDER BY seq DESC LIMIT ?",
        id,
        limit,
      )
      .toArray()
      .reverse()
      .map((row) => ({ at: new Date(row.at).toISOString(), level: row.level, message: row.message }));
  }
}

function fromRow(row: InstallationRow): Installation {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    version: row.version,
    digest: row.digest,
    manifest: JSON.parse(row.manifest) as Installation["manifest"],
    grants: JSON.parse(row.grants) as Installation["grants"],
    config: JSON.parse(row.config) as Installation["config"],
    state: row.state as Installation["state"],
    installedAt: row.installed_at,
    updatedAt: row.updated_at,
    revision: row.revision,
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error === null ? null : (JSON.parse(row.last_error) as Installation["lastError"]),
    egress: { allowed: row.egress_allowed, refused: row.egress_refused },
    pendingUpgrade: row.pending_upgrade === null ? null : (JSON.parse(row.pending_upgrade) as Installation["pendingUpgrade"]),
  };
}
