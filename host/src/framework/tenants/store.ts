/**
 * SQLite tables of a tenant's Durable Object that the framework owns: the
 * installations, each installation's key-value storage and its log.
 *
 * @module
 */
import { maskSecrets, secretValues } from "./config.ts";
import type { Installation } from "./installation.ts";
import { escapeControlCharacters } from "./log-text.ts";

/** Most log lines kept per installation; older lines are dropped first. */
export const MAX_LOG_LINES = 500;

/** Maximum length of a stored log line, in characters; longer lines are cut. */
export const MAX_LOG_LINE_LENGTH = 1_000;

/**
 * Maximum log lines one installation may append per minute, counting every
 * source: its console, its failed calls and its outbound requests. Lines over the
 * limit are counted into one "N log lines dropped" line, so one minute of flooding
 * replaces at most 300 of the 500 lines kept.
 */
export const MAX_LOG_LINES_PER_MINUTE = 300;

/**
 * Maximum console lines the log tail forwards from one plugin call. It counts the
 * rest as dropped, and always forwards exceptions.
 */
export const MAX_LOG_LINES_PER_CALL = 100;

/**
 * Level of a line that carries only a count, in its message, of lines the sender
 * already dropped (the log tail drops lines over {@link MAX_LOG_LINES_PER_CALL}). The store
 * adds the count to the current "N log lines dropped" line instead of storing it.
 * Console output cannot have this level: the runtime sets console levels.
 */
export const DROPPED_LOG_LEVEL = "dropped";

/** Length of one rate window of an installation's log, in milliseconds. */
const LOG_WINDOW_MS = 60_000;

/** Lines appended and dropped in one installation's current rate window. */
interface LogWindow {
  start: number;
  accepted: number;
  dropped: number;
  /** `seq` of this window's "N log lines dropped" line, once there is one. */
  markerSeq: number | null;
}

/** Options of {@link TenantStore}. */
export interface TenantStoreOptions {
  /** The clock of the log rate limit, in epoch milliseconds; `Date.now` by default. */
  now?: () => number;
}

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
  #installations: Installation[] | undefined;
  readonly #now: () => number;
  // Rate windows by installation ID. They live in memory, so they restart when the
  // Durable Object is evicted; a flood keeps the object alive, and with it the window.
  readonly #logWindows = new Map<string, LogWindow>();
  // Secret config values by installation ID, longest first; save() refreshes them.
  readonly #secrets = new Map<string, string[]>();

  constructor(sql: SqlStorage, options: TenantStoreOptions = {}) {
    this.#sql = sql;
    this.#now = options.now ?? Date.now;
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

  /**
   * Returns every installation in installation order. The parsed list is kept in
   * memory until the next write, because dispatch reads it on every call and
   * parsing each manifest again made dispatch grow with the installation count.
   * Treat the returned objects as read-only; write through {@link save}.
   */
  list(): Installation[] {
    this.#installations ??= this.#sql
      .exec<InstallationRow>("SELECT * FROM berth_installations ORDER BY installed_at, name")
      .toArray()
      .map(fromRow);
    return this.#installations;
  }

  byName(name: string): Installation | undefined {
    return this.list().find((installation) => installation.name === name);
  }

  byId(id: string): Installation | undefined {
    return this.list().find((installation) => installation.id === id);
  }

  /** Inserts or replaces an installation by ID. */
  save(installation: Installation): void {
    this.#installations = undefined;
    this.#secrets.set(installation.id, secretValues(installation.manifest, installation.config));
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
    this.#installations = undefined;
    this.#logWindows.delete(id);
    this.#secrets.delete(id);
    this.#sql.exec("DELETE FROM berth_storage WHERE installation_id = ?", id);
    this.#sql.exec("DELETE FROM berth_logs WHERE installation_id = ?", id);
    this.#sql.exec("DELETE FROM berth_installations WHERE id = ?", id);
  }

  recordFailure(id: string, lastError: Installation["lastError"]): number {
    this.#installations = undefined;
    this.#sql.exec(
      "UPDATE berth_installations SET consecutive_failures = consecutive_failures + 1, last_error = ? WHERE id = ?",
      JSON.stringify(lastError),
      id,
    );
    return this.byId(id)?.consecutiveFailures ?? 0;
  }

  /** Sets the installation's `lastError` and changes nothing else. */
  recordLastError(id: string, lastError: NonNullable<Installation["lastError"]>): void {
    this.#installations = undefined;
    this.#sql.exec("UPDATE berth_installations SET last_error = ? WHERE id = ?", JSON.stringify(lastError), id);
  }

  resetFailures(id: string): void {
    // Most calls succeed with nothing to reset; skipping them keeps the cached list.
    if ((this.byId(id)?.consecutiveFailures ?? 0) === 0) return;
    this.#installations = undefined;
    this.#sql.exec("UPDATE berth_installations SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures > 0", id);
  }

  countEgress(id: string, allowed: boolean): void {
    this.#installations = undefined;
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

  /**
   * Replaces each secret config value of the installation (as last saved) in
   * `text` with `[secret]`. A value the installation does not store yet, such as
   * one in a config change still being checked, is not masked.
   */
  maskSecrets(id: string, text: string): string {
    let secrets = this.#secrets.get(id);
    if (secrets === undefined) {
      const installation = this.byId(id);
      secrets = installation === undefined ? [] : secretValues(installation.manifest, installation.config);
      if (installation !== undefined) this.#secrets.set(id, secrets);
    }
    return secrets.length === 0 ? text : maskSecrets(text, secrets);
  }

  /**
   * Appends one line to an installation's log, with its secret config values
   * masked, control characters other than tab escaped (so one line never holds a
   * newline) and cut to {@link MAX_LOG_LINE_LENGTH}, unless the installation used
   * up {@link MAX_LOG_LINES_PER_MINUTE}: then the line is only counted. A line of
   * level {@link DROPPED_LOG_LEVEL} adds its count.
   */
  appendLog(id: string, level: string, message: string, at = Date.now()): void {
    const window = this.#logWindow(id);
    if (level === DROPPED_LOG_LEVEL) {
      // NOTE: a secret config value made of digits is masked inside the count too; the count then comes out low.
      const count = Number.parseInt(message, 10);
      this.#countDropped(id, window, Number.isSafeInteger(count) && count > 0 ? count : 1, at);
      return;
    }
    if (window.accepted >= MAX_LOG_LINES_PER_MINUTE) {
      this.#countDropped(id, window, 1, at);
      return;
    }
    window.accepted += 1;
    // Masked before escaping, so a secret that contains a control character is still found.
    this.#insertLog(id, escapeControlCharacters(level), escapeControlCharacters(this.maskSecrets(id, message)), at);
  }

  #logWindow(id: string): LogWindow {
    const now = this.#now();
    let window = this.#logWindows.get(id);
    if (window === undefined || now - window.start >= LOG_WINDOW_MS) {
      window = { start: now, accepted: 0, dropped: 0, markerSeq: null };
      this.#logWindows.set(id, window);
    }
    return window;
  }

  /** Adds `count` to the window's "N log lines dropped" line, writing the line on the window's first drop. */
  #countDropped(id: string, window: LogWindow, count: number, at: number): void {
    window.dropped += count;
    const lines = window.dropped === 1 ? "line" : "lines";
    const message = `${window.dropped} log ${lines} dropped: a plugin call may log at most ${MAX_LOG_LINES_PER_CALL} lines, and an installation at most ${MAX_LOG_LINES_PER_MINUTE} a minute`;
    if (window.markerSeq === null) {
      window.markerSeq = this.#insertLog(id, "warn", message, at);
    } else {
      this.#sql.exec("UPDATE berth_logs SET message = ? WHERE seq = ?", message, window.markerSeq);
    }
  }

  /** Inserts a line, drops the oldest lines past {@link MAX_LOG_LINES}, and returns the new line's `seq`. */
  #insertLog(id: string, level: string, message: string, at: number): number {
    const { seq } = this.#sql
      .exec<{ seq: number }>(
        "INSERT INTO berth_logs (installation_id, at, level, message) VALUES (?, ?, ?, ?) RETURNING seq",
        id,
        at,
        level,
        message.slice(0, MAX_LOG_LINE_LENGTH),
      )
      .one();
    this.#sql.exec(
      `DELETE FROM berth_logs WHERE installation_id = ? AND seq <= (
        SELECT seq FROM berth_logs WHERE installation_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?
      )`,
      id,
      id,
      MAX_LOG_LINES,
    );
    return seq;
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
