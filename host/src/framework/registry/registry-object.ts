/**
 * The registry's catalogue: one row per published `name@version`, in a single
 * SQLite-backed Durable Object. Code lives in R2 (see `code-store.ts`).
 *
 * @module
 */
import { DurableObject } from "cloudflare:workers";
import { BerthError } from "@berth/plugin-sdk/errors";
import type { Manifest } from "@berth/plugin-sdk/package";
import semver from "semver";

import { toResult, type Result } from "../rpc.ts";

/** One published package version. */
export interface PackageRecord {
  name: string;
  version: string;
  publisher: string;
  /** SHA-256 of the signed manifest, which binds every module digest. */
  digest: string;
  kid: string;
  token: string;
  manifest: Manifest;
  publishedAt: number;
}

/** One plugin in the catalogue, with its versions newest first. */
export interface PluginSummary {
  name: string;
  publisher: string;
  description: string | undefined;
  latest: string;
  versions: string[];
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
};

/** The registry Durable Object; the host uses the instance named `catalogue`. */
export class RegistryObject extends DurableObject {
  #sql: SqlStorage;

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
  }

  /**
   * Adds a verified package. Publishing identical content again is a no-op;
   * different content under a held `name@version` raises `ERR_REGISTRY_VERSION_CONFLICT`.
   */
  async add(record: PackageRecord): Promise<Result<{ created: boolean }>> {
    return toResult(async () => {
      const existing = this.#find(record.name, record.version);
      if (existing !== undefined) {
        if (existing.digest === record.digest) return { created: false };
        throw conflict(record);
      }
      this.#sql.exec(
        "INSERT INTO packages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        record.name,
        record.version,
        record.publisher,
        record.digest,
        record.kid,
        record.token,
        JSON.stringify(record.manifest),
        record.publishedAt,
      );
      return { created: true };
    });
  }

  /** Raises `ERR_REGISTRY_VERSION_CONFLICT` if different content is held under this `name@version`. */
  async checkFree(name: string, version: string, digest: string): Promise<Result<null>> {
    return toResult(async () => {
      const existing = this.#find(name, version);
      if (existing !== undefined && existing.digest !== digest) throw conflict({ name, version });
      return null;
    });
  }

  /**
   * Returns the package for an exact version, or the greatest version satisfying
   * a range. Raises `ERR_PLUGIN_NOT_FOUND`.
   */
  async resolve(name: string, versionOrRange: string): Promise<Result<PackageRecord>> {
    return toResult(async () => {
      const rows = this.#sql.exec<Row>("SELECT * FROM packages WHERE name = ?", name).toArray();
      if (rows.length === 0) {
        throw new BerthError("ERR_PLUGIN_NOT_FOUND", `no plugin named "${name}" is published; see GET /v1/plugins`, { path: "name" });
      }
      const exact = rows.find((row) => row.version === versionOrRange);
      const version = exact?.version ?? semver.maxSatisfying(rows.map((row) => row.version), versionOrRange);
      const row = rows.find((candidate) => candidate.version === version);
      if (row === undefined) {
        throw new BerthError(
          "ERR_PLUGIN_NOT_FOUND",
          `no published version of ${name} matches "${versionOrRange}"; published: ${sortVersions(rows).join(", ")}`,
          { path: "version" },
        );
      }
      return toRecord(row);
    });
  }

  /** Lists published plugins with their versions, newest first. */
  async list(): Promise<PluginSummary[]> {
    const rows = this.#sql.exec<Row>("SELECT * FROM packages ORDER BY name").toArray();
    const byName = new Map<string, Row[]>();
    for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);

    return [...byName.entries()].map(([name, versions]) => {
      const sorted = sortVersions(versions);
      const latest = versions.find((row) => row.version === sorted[0]) as Row;
      const manifest = JSON.parse(latest.manifest) as Manifest;
      return { name, publisher: latest.publisher, description: manifest.description, latest: latest.version, versions: sorted };
    });
  }

  #find(name: string, version: string): Row | undefined {
    return this.#sql.exec<Row>("SELECT * FROM packages WHERE name = ? AND version = ?", name, version).toArray()[0];
  }
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
    kid: row.kid,
    token: row.token,
    manifest: JSON.parse(row.manifest) as Manifest,
    publishedAt: row.published_at,
  };
}
