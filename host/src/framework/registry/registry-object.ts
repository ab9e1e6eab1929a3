/**
 * The registry: the catalogue of published packages (one row per `name@version`),
 * the trust store of publishers and keys, yanks, and the index of which tenant
 * runs which version, in a single SQLite-backed Durable Object. Code lives in R2
 * (see `code-store.ts`).
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import { BerthError } from "@berth/plugin-sdk/errors";
import { LIMITS, canonicalJson, keyStatus, type Manifest, type TrustedKey } from "@berth/plugin-sdk/package";
import semver from "semver";

import { toResult, type Result } from "../rpc.ts";
import { DeploymentIndex, type DeploymentTarget } from "./deployments.ts";
import { TrustKeyTable, toKeyView, type KeyView } from "./trust-keys.ts";

/** One published package version. */
export interface PackageRecord {
  name: string;
  version: string;
  publisher: string;
  /** SHA-256 of the signed manifest, which binds every module digest. */
  digest: string;
  /** SHA-256 of the manifest's canonical JSON; equal for every signature of the same content. */
  contentDigest: string;
  kid: string;
  token: string;
  manifest: Manifest;
  publishedAt: number;
  /** When the stored signature was made, in seconds since the epoch. */
  issuedAt: number;
  /** Set once an operator yanked this version. */
  yanked: Yank | null;
}

/** An operator's yank of a version: its reason and time. */
export interface Yank {
  reason: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** Outcome of a publish: a new version, a refreshed signature of a stored one, or no change. */
export interface AddOutcome {
  created: boolean;
  /** True when a newer signature of the same content replaced the stored one. */
  refreshed: boolean;
}

/** The result of a revocation or yank: the new state and the installations to disable. */
export interface BlockOutcome<T> {
  value: T;
  targets: DeploymentTarget[];
}

/** One plugin in the catalogue, with its versions newest first. */
export interface PluginSummary {
  name: string;
  publisher: string;
  description: string | undefined;
  latest: string;
  versions: string[];
  /** Versions an operator yanked; they stay listed but are never installed or loaded. */
  yanked: string[];
}

type Row = {
  name: string;
  version: string;
  publisher: string;
  digest: string;
  kid: string;
  token: string;
  manifest: string;
  published_at: number;
  content_digest: string | null;
  issued_at: number | null;
  yanked_at: number | null;
  yank_reason: string | null;
};

// Columns added after the first release; older registries get them on start.
const ADDED_COLUMNS = {
  content_digest: "TEXT",
  issued_at: "INTEGER",
  yanked_at: "INTEGER",
  yank_reason: "TEXT",
} as const;

/** The registry Durable Object; the host uses the instance named `catalogue`. */
export class RegistryObject extends DurableObject {
  #sql: SqlStorage;
  #keys: TrustKeyTable;
  #deployments: DeploymentIndex;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS packages (
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      publisher TEXT NOT NULL,
      digest TEXT NOT NULL,
      kid TEXT NOT NULL,
      token TEXT NOT NULL,
      manifest TEXT NOT NULL,
      published_at INTEGER NOT NULL,
      PRIMARY KEY (name, version)
    )`);
    const columns = new Set(this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('packages')").toArray().map((column) => column.name));
    for (const [column, type] of Object.entries(ADDED_COLUMNS)) {
      if (!columns.has(column)) this.#sql.exec(`ALTER TABLE packages ADD COLUMN ${column} ${type}`);
    }
    this.#sql.exec("CREATE INDEX IF NOT EXISTS packages_by_kid ON packages (kid)");
    this.#keys = new TrustKeyTable(this.#sql);
    this.#deployments = new DeploymentIndex(this.#sql);
  }

  /**
   * Adds a verified package. The same content again is a no-op, unless its
   * signature is newer: then the stored token, key and signing time are replaced,
   * so a re-signed package (new expiry, new key) takes effect without a new
   * version. Different content under a held `name@version` raises
   * `ERR_REGISTRY_VERSION_CONFLICT`; a yanked version raises `ERR_PACKAGE_YANKED`.
   * The signing key's status is checked again here, in the same turn as the write,
   * so a key revoked while the Worker verified the package cannot slip through.
   */
  async add(record: PackageRecord): Promise<Result<AddOutcome>> {
    return toResult(async () => {
      this.#requireSigningKey(record.kid);
      const existing = this.#find(record.name, record.version);
      if (existing !== undefined) {
        this.#checkSameContent(existing, record);
        if (existing.digest === record.digest || record.issuedAt <= (existing.issued_at ?? 0)) return { created: false, refreshed: false };
        this.#sql.exec(
          "UPDATE packages SET digest = ?, kid = ?, token = ?, issued_at = ?, content_digest = ? WHERE name = ? AND version = ?",
          record.digest,
          record.kid,
          record.token,
          record.issuedAt,
          record.contentDigest,
          record.name,
          record.version,
        );
        return { created: false, refreshed: true };
      }
      this.#sql.exec(
        `INSERT INTO packages (name, version, publisher, digest, kid, token, manifest, published_at, content_digest, issued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        record.name,
        record.version,
        record.publisher,
        record.digest,
        record.kid,
        record.token,
        JSON.stringify(record.manifest),
        record.publishedAt,
        record.contentDigest,
        record.issuedAt,
      );
      return { created: true, refreshed: false };
    });
  }

  /**
   * Raises `ERR_REGISTRY_VERSION_CONFLICT` if different content is held under this
   * `name@version`, or `ERR_PACKAGE_YANKED` if it was yanked.
   */
  async checkFree(record: Pick<PackageRecord, "name" | "version" | "contentDigest" | "manifest">): Promise<Result<null>> {
    return toResult(async () => {
      const existing = this.#find(record.name, record.version);
      if (existing !== undefined) this.#checkSameContent(existing, record);
      return null;
    });
  }

  /**
   * Returns the package for an exact version, or the greatest version satisfying
   * a range. A range never picks a blocked version: one yanked, or whose stored
   * signature is by a revoked key. It picks a prerelease only when it names a
   * prerelease of the same major.minor.patch, as semver does. An exact version is
   * returned even when blocked, so the install raises the coded error for it.
   * Raises `ERR_PLUGIN_NOT_FOUND`, or `ERR_REQUEST_INVALID` for a malformed range
   * or one with build metadata.
   */
  async resolve(name: string, versionOrRange: string): Promise<Result<PackageRecord>> {
    return toResult(async () => {
      checkVersionOrRange(versionOrRange);
      const rows = this.#sql.exec<Row>("SELECT * FROM packages WHERE name = ?", name).toArray();
      if (rows.length === 0) {
        throw new BerthError("ERR_PLUGIN_NOT_FOUND", `no plugin named "${name}" is published; see GET /v1/plugins`, { path: "name" });
      }
      const exact = rows.find((row) => row.version === versionOrRange);
      const candidates = rows.filter((row) => !this.#isBlocked(row)).map((row) => row.version);
      const version = exact?.version ?? semver.maxSatisfying(candidates, versionOrRange);
      const row = rows.find((candidate) => candidate.version === version);
      if (row === undefined) {
        const blocked = sortVersions(rows.filter((candidate) => this.#isBlocked(candidate)));
        const blockedNote = blocked.length === 0 ? "" : `; not installable (yanked or signed by a revoked key): ${blocked.join(", ")}`;
        throw new BerthError(
          "ERR_PLUGIN_NOT_FOUND",
          `no installable version of ${name} matches "${versionOrRange}"; published: ${sortVersions(rows).join(", ")}${blockedNote}`,
          { path: "version" },
        );
      }
      return toRecord(row);
    });
  }

  /**
   * Lists published plugins with their versions, newest first. `latest` is the
   * greatest version that is neither blocked (yanked, or signed by a revoked key)
   * nor a prerelease, if there is one.
   */
  async list(): Promise<PluginSummary[]> {
    const rows = this.#sql.exec<Row>("SELECT * FROM packages ORDER BY name").toArray();
    const byName = new Map<string, Row[]>();
    for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);

    return [...byName.entries()].map(([name, versions]) => {
      const sorted = sortVersions(versions);
      const live = versions.filter((row) => !this.#isBlocked(row)).map((row) => row.version);
      const latestVersion = semver.maxSatisfying(live, "*") ?? sortVersions(live.map((version) => ({ version })))[0] ?? sorted[0];
      const latest = versions.find((row) => row.version === latestVersion) as Row;
      const manifest = JSON.parse(latest.manifest) as Manifest;
      const yanked = sortVersions(versions.filter((row) => row.yanked_at !== null));
      return { name, publisher: latest.publisher, description: manifest.description, latest: latest.version, versions: sorted, yanked };
    });
  }

  // ---- Trust store ----------------------------------------------------------------

  /**
   * Returns every stored key, after storing configured keys the registry does not
   * hold yet (see {@link TrustKeyTable.seed}). Verifiers build their trust store
   * from this, so the stored state (retired, revoked) is what counts.
   */
  async trustedKeys(configured: readonly TrustedKey[]): Promise<TrustedKey[]> {
    this.#keys.seed(configured, nowSeconds());
    return this.#keys.list().map((record) => record.key);
  }

  /** Lists the stored keys as the API shows them. */
  async listKeys(configured: readonly TrustedKey[]): Promise<KeyView[]> {
    this.#keys.seed(configured, nowSeconds());
    return this.#keys.list().map(toKeyView);
  }

  /** Adds a key an operator sent. Raises `ERR_TRUST_KEY_CONFLICT`. */
  async addKey(configured: readonly TrustedKey[], key: TrustedKey): Promise<Result<{ key: KeyView; created: boolean }>> {
    return toResult(async () => {
      this.#keys.seed(configured, nowSeconds());
      const { record, created } = this.#keys.add(key, "api", nowSeconds());
      return { key: toKeyView(record), created };
    });
  }

  /** Retires a key, optionally setting its `notAfter`. Raises `ERR_TRUST_KEY_NOT_FOUND`. */
  async retireKey(configured: readonly TrustedKey[], kid: string, notAfter: number | undefined): Promise<Result<KeyView>> {
    return toResult(async () => {
      this.#keys.seed(configured, nowSeconds());
      return toKeyView(this.#keys.retire(kid, nowSeconds(), notAfter));
    });
  }

  /**
   * Revokes a key and returns the installations, in every tenant, of the versions
   * whose stored signature is by it. Raises `ERR_TRUST_KEY_NOT_FOUND`.
   */
  async revokeKey(configured: readonly TrustedKey[], kid: string, reason: string): Promise<Result<BlockOutcome<KeyView>>> {
    return toResult(async () => {
      this.#keys.seed(configured, nowSeconds());
      const record = this.#keys.revoke(kid, nowSeconds(), reason);
      return { value: toKeyView(record), targets: this.#deployments.byKey(kid) };
    });
  }

  // ---- Yanks and the deployment index ---------------------------------------------

  /**
   * Yanks `name@version` and returns its installations in every tenant. Yanking
   * again keeps the first reason. Raises `ERR_PLUGIN_NOT_FOUND`.
   */
  async yank(name: string, version: string, reason: string): Promise<Result<BlockOutcome<PackageRecord>>> {
    return toResult(async () => {
      if (this.#find(name, version) === undefined) {
        throw new BerthError("ERR_PLUGIN_NOT_FOUND", `${name}@${version} is not published; see GET /v1/plugins`, { path: "params.version" });
      }
      this.#sql.exec(
        "UPDATE packages SET yanked_at = COALESCE(yanked_at, ?), yank_reason = COALESCE(yank_reason, ?) WHERE name = ? AND version = ?",
        Date.now(),
        reason,
        name,
        version,
      );
      return { value: toRecord(this.#find(name, version) as Row), targets: this.#deployments.byVersion(name, version) };
    });
  }

  /** Records that `tenant` installed (or is installing) `name@version`. */
  async track(target: DeploymentTarget): Promise<void> {
    this.#deployments.track(target);
  }

  /** Records that `tenant` no longer runs `name@version`. */
  async untrack(target: DeploymentTarget): Promise<void> {
    this.#deployments.untrack(target);
  }

  /**
   * Records the deployment and checks that `name@version` may be loaded: it is
   * published, not yanked, and its stored signature's key is not revoked. Raises
   * `ERR_PACKAGE_YANKED`, `ERR_TRUST_KEY_REVOKED` or `ERR_PLUGIN_NOT_FOUND`.
   */
  async checkLoadable(target: DeploymentTarget): Promise<Result<null>> {
    return toResult(async () => {
      this.#deployments.track(target);
      const row = this.#find(target.name, target.version);
      if (row === undefined) {
        throw new BerthError("ERR_PLUGIN_NOT_FOUND", `${target.name}@${target.version} is not in the registry, so it is not loaded`);
      }
      if (row.yanked_at !== null) throw yanked(row);
      const key = this.#keys.get(row.kid)?.key;
      if (key !== undefined && keyStatus(key) === "revoked") throw revoked(key);
      return null;
    });
  }

  // ---- Internals --------------------------------------------------------------------

  /** Whether the version was yanked or its stored signature is by a revoked key. */
  #isBlocked(row: Row): boolean {
    if (row.yanked_at !== null) return true;
    const key = this.#keys.get(row.kid)?.key;
    return key !== undefined && keyStatus(key) === "revoked";
  }

  #find(name: string, version: string): Row | undefined {
    return this.#sql.exec<Row>("SELECT * FROM packages WHERE name = ? AND version = ?", name, version).toArray()[0];
  }

  #checkSameContent(existing: Row, record: Pick<PackageRecord, "name" | "version" | "contentDigest" | "manifest">): void {
    // Rows stored before content digests existed are compared by their canonical manifest.
    const same =
      existing.content_digest === null
        ? canonicalJson(JSON.parse(existing.manifest)) === canonicalJson(record.manifest)
        : existing.content_digest === record.contentDigest;
    if (!same) throw conflict(record);
    if (existing.yanked_at !== null) throw yanked(existing);
  }

  #requireSigningKey(kid: string): void {
    const record = this.#keys.get(kid);
    if (record === undefined) {
      throw new BerthError("ERR_TRUST_UNKNOWN_KEY", `no trusted publisher key has key ID "${kid}"; ask the host operator to trust it`, { path: "header.kid" });
    }
    const status = keyStatus(record.key);
    if (status === "revoked") throw revoked(record.key);
    if (status === "retired") {
      throw new BerthError("ERR_TRUST_KEY_RETIRED", `key "${kid}" is retired and signs no new publishes; sign with a current key of publisher "${record.key.publisher}"`, {
        path: "header.kid",
      });
    }
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkVersionOrRange(value: string): void {
  if (value.length > LIMITS.range) {
    throw new BerthError("ERR_REQUEST_INVALID", `version must be at most ${LIMITS.range} characters`, { path: "version" });
  }
  if (value.includes("+")) {
    throw new BerthError("ERR_REQUEST_INVALID", "version must not carry build metadata (+...); semver ignores it, so name the version without it", { path: "version" });
  }
  if (semver.validRange(value) === null) {
    throw new BerthError("ERR_REQUEST_INVALID", `version ${JSON.stringify(value)} is neither a version nor a semver range such as ^1.0.0`, { path: "version" });
  }
}

function yanked(row: Row): BerthError {
  return new BerthError(
    "ERR_PACKAGE_YANKED",
    `${row.name}@${row.version} was yanked: ${row.yank_reason ?? "no reason given"}; install or upgrade to another version`,
    { path: "version" },
  );
}

function revoked(key: TrustedKey): BerthError {
  const reason = key.revokedReason === undefined ? "" : `: ${key.revokedReason}`;
  return new BerthError("ERR_TRUST_KEY_REVOKED", `key "${key.kid}" of publisher "${key.publisher}" was revoked${reason}; nothing it signed is accepted`, {
    path: "header.kid",
  });
}

function conflict(record: { name: string; version: string }): BerthError {
  return new BerthError(
    "ERR_REGISTRY_VERSION_CONFLICT",
    `${record.name}@${record.version} is already published with different content; publish a new version instead`,
    { path: "manifest.version" },
  );
}

function sortVersions(rows: readonly { version: string }[]): string[] {
  return rows.map((row) => row.version).sort(semver.rcompare);
}

function toRecord(row: Row): PackageRecord {
  return {
    name: row.name,
    version: row.version,
    publisher: row.publisher,
    digest: row.digest,
    contentDigest: row.content_digest ?? "",
    kid: row.kid,
    token: row.token,
    manifest: JSON.parse(row.manifest) as Manifest,
    publishedAt: row.published_at,
    issuedAt: row.issued_at ?? 0,
    yanked: row.yanked_at === null ? null : { reason: row.yank_reason ?? "", at: row.yanked_at },
  };
}
