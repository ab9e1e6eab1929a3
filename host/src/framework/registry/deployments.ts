/**
 * The registry's index of which tenant runs which `name@version`, so a key
 * revocation or a yank can reach every installation it affects. Tenant objects
 * keep it current on install, upgrade, uninstall and first load.
 *
 * @module
 */

/** One installation a revocation or yank must disable. */
export type DeploymentTarget = {
  tenant: string;
  name: string;
  version: string;
};

/** Typed access to the index table of the registry's SQLite storage. */
export class DeploymentIndex {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS deployments (
      tenant TEXT NOT NULL,
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      PRIMARY KEY (tenant, name, version)
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS deployments_by_version ON deployments (name, version)");
  }

  track(target: DeploymentTarget): void {
    this.#sql.exec("INSERT OR IGNORE INTO deployments VALUES (?, ?, ?)", target.tenant, target.name, target.version);
  }

  untrack(target: DeploymentTarget): void {
    this.#sql.exec("DELETE FROM deployments WHERE tenant = ? AND name = ? AND version = ?", target.tenant, target.name, target.version);
  }

  /** Returns the installations of `name@version` in every tenant. */
  byVersion(name: string, version: string): DeploymentTarget[] {
    return this.#sql.exec<DeploymentTarget>("SELECT tenant, name, version FROM deployments WHERE name = ? AND version = ? ORDER BY tenant", name, version).toArray();
  }

  /** Returns the installations, in every tenant, of every version whose stored signature is by `kid`. */
  byKey(kid: string): DeploymentTarget[] {
    return this.#sql
      .exec<DeploymentTarget>(
        `SELECT d.tenant, d.name, d.version FROM deployments d
         JOIN packages p ON p.name = d.name AND p.version = d.version
         WHERE p.kid = ? ORDER BY d.tenant, d.name`,
        kid,
      )
      .toArray();
  }
}
