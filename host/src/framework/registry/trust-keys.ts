/**
 * The trust store as data: publishers and their keys in the registry's SQLite
 * storage, with each key's validity window, retirement and revocation. The host
 * configuration seeds it; operators change it through the `/v1/trust` routes.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { canonicalJson, keyMaterial, keyStatus, type KeyStatus, type TrustedKey } from "@berth/plugin-sdk/package";
import { escapeControlCharacters } from "../tenants/log-text.ts";

/** Origin of a stored key: the host configuration or an operator's request. */
export type KeySource = "config" | "api";

/** One stored key with its bookkeeping. */
export interface KeyRecord {
  key: TrustedKey;
  source: KeySource;
  /** When the registry first stored the key, in seconds since the epoch. */
  addedAt: number;
}

/** A stored key as the API shows it. */
export type KeyView = TrustedKey & { status: KeyStatus; source: KeySource; addedAt: number };

type KeyRow = {
  kid: string;
  publisher: string;
  alg: string;
  jwk: string;
  material: string;
  not_before: number | null;
  not_after: number | null;
  retired_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  source: string;
  added_at: number;
};

/** Typed access to the trust tables of the registry's SQLite storage. */
export class TrustKeyTable {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS publishers (
      name TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL
    )`);
    // material is UNIQUE: one public key has one key ID and so one publisher.
    sql.exec(`CREATE TABLE IF NOT EXISTS trusted_keys (
      kid TEXT PRIMARY KEY,
      publisher TEXT NOT NULL REFERENCES publishers (name),
      alg TEXT NOT NULL,
      jwk TEXT NOT NULL,
      material TEXT NOT NULL UNIQUE,
      not_before INTEGER,
      not_after INTEGER,
      retired_at INTEGER,
      revoked_at INTEGER,
      revoked_reason TEXT,
      source TEXT NOT NULL,
      added_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS trust_seed (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      keys TEXT NOT NULL
    )`);
  }

  list(): KeyRecord[] {
    return this.#sql.exec<KeyRow>("SELECT * FROM trusted_keys ORDER BY publisher, kid").toArray().map(fromRow);
  }

  get(kid: string): KeyRecord | undefined {
    const row = this.#sql.exec<KeyRow>("SELECT * FROM trusted_keys WHERE kid = ?", kid).toArray()[0];
    return row === undefined ? undefined : fromRow(row);
  }

  /** Returns the key, or raises `ERR_TRUST_KEY_NOT_FOUND`. */
  require(kid: string): KeyRecord {
    const record = this.get(kid);
    if (record === undefined) {
      throw new BerthError("ERR_TRUST_KEY_NOT_FOUND", `no trusted key has key ID "${kid}"; see GET /v1/trust/keys`, { path: "params.kid" });
    }
    return record;
  }

  /**
   * Adds a key. Adding the same key again (same key ID, publisher, algorithm and
   * material) changes nothing. A key ID or key material that another key already
   * has raises `ERR_TRUST_KEY_CONFLICT`.
   */
  add(key: TrustedKey, source: KeySource, now: number): { record: KeyRecord; created: boolean } {
    const existing = this.get(key.kid);
    const material = keyMaterial(key.jwk);
    if (existing !== undefined) {
      if (existing.key.publisher === key.publisher && existing.key.alg === key.alg && keyMaterial(existing.key.jwk) === material) {
        return { record: existing, created: false };
      }
      throw new BerthError(
        "ERR_TRUST_KEY_CONFLICT",
        `key ID "${key.kid}" already names another key of publisher "${existing.key.publisher}"; choose a new key ID`,
        { path: "body.kid" },
      );
    }
    const holder = this.#sql.exec<{ kid: string; publisher: string }>("SELECT kid, publisher FROM trusted_keys WHERE material = ?", material).toArray()[0];
    if (holder !== undefined) {
      throw new BerthError(
        "ERR_TRUST_KEY_CONFLICT",
        `this public key is already trusted as key "${holder.kid}" of publisher "${holder.publisher}"; a key belongs to one key ID and one publisher`,
        { path: "body.jwk" },
      );
    }

    this.#sql.exec("INSERT OR IGNORE INTO publishers VALUES (?, ?)", key.publisher, now);
    this.#sql.exec(
      "INSERT INTO trusted_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      key.kid,
      key.publisher,
      key.alg,
      JSON.stringify(key.jwk),
      material,
      key.notBefore ?? null,
      key.notAfter ?? null,
      key.retiredAt ?? null,
      key.revokedAt ?? null,
      key.revokedReason ?? null,
      source,
      now,
    );
    return { record: this.require(key.kid), created: true };
  }

  /**
   * Stores configured keys that are not stored yet, once per distinct
   * configuration. A stored key keeps its state (retired, revoked) whatever the
   * configuration contains, and a configured key that clashes with a stored one
   * is skipped with a warning, so a restart never undoes an operator's change.
   */
  seed(keys: readonly TrustedKey[], now: number): void {
    const text = canonicalJson(keys);
    const previous = this.#sql.exec<{ keys: string }>("SELECT keys FROM trust_seed WHERE id = 1").toArray()[0];
    if (previous?.keys === text) return;

    for (const key of keys) {
      try {
        this.add(key, "config", now);
      } catch (error) {
        if (!(error instanceof BerthError)) throw error;
        console.warn(`berth registry: configured key ${key.kid} was not stored: ${escapeControlCharacters(error.message)}`);
      }
    }
    this.#sql.exec("INSERT OR REPLACE INTO trust_seed VALUES (1, ?)", text);
  }

  /**
   * Retires a key: it signs no new publishes, and what it signed stays
   * installable until `notAfter`, which the caller may set or move here.
   * Retiring a revoked key changes nothing.
   */
  retire(kid: string, now: number, notAfter: number | undefined): KeyRecord {
    const record = this.require(kid);
    if (record.key.revokedAt !== undefined) return record;
    if (notAfter !== undefined && record.key.notBefore !== undefined && notAfter < record.key.notBefore) {
      throw new BerthError("ERR_REQUEST_INVALID", `body.notAfter must not be earlier than the key's notBefore (${record.key.notBefore})`, { path: "body.notAfter" });
    }
    this.#sql.exec(
      "UPDATE trusted_keys SET retired_at = COALESCE(retired_at, ?), not_after = COALESCE(?, not_after) WHERE kid = ?",
      now,
      notAfter ?? null,
      kid,
    );
    return this.require(kid);
  }

  /** Revokes a key with a reason. Revoking it again keeps the first time and reason. */
  revoke(kid: string, now: number, reason: string): KeyRecord {
    this.require(kid);
    this.#sql.exec(
      "UPDATE trusted_keys SET revoked_at = COALESCE(revoked_at, ?), revoked_reason = COALESCE(revoked_reason, ?) WHERE kid = ?",
      now,
      reason,
      kid,
    );
    return this.require(kid);
  }
}

/** Returns the API view of a stored key. */
export function toKeyView(record: KeyRecord): KeyView {
  return { ...record.key, status: keyStatus(record.key), source: record.source, addedAt: record.addedAt };
}

function fromRow(row: KeyRow): KeyRecord {
  const key: TrustedKey = {
    kid: row.kid,
    publisher: row.publisher,
    alg: row.alg as TrustedKey["alg"],
    jwk: JSON.parse(row.jwk) as TrustedKey["jwk"],
  };
  if (row.not_before !== null) key.notBefore = row.not_before;
  if (row.not_after !== null) key.notAfter = row.not_after;
  if (row.retired_at !== null) key.retiredAt = row.retired_at;
  if (row.revoked_at !== null) key.revokedAt = row.revoked_at;
  if (row.revoked_reason !== null) key.revokedReason = row.revoked_reason;
  return { key, source: row.source as KeySource, addedAt: row.added_at };
}
