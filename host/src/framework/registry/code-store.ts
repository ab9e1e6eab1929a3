/**
 * Package code in R2, content-addressed: each module is stored once under its
 * SHA-256 digest, so a module shared by two versions is one object.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { sha256Hex, type Manifest } from "@berth/plugin-sdk/package";

const keyFor = (digest: string) => `modules/sha256/${digest}`;

/** Stores modules whose digests were already verified against the manifest. */
export async function putModules(bucket: R2Bucket, manifest: Manifest, modules: Record<string, string>): Promise<void> {
  await Promise.all(
    Object.entries(manifest.modules).map(async ([name, entry]) => {
      const key = keyFor(entry.sha256);
      if ((await bucket.head(key)) !== null) return;
      await bucket.put(key, modules[name] ?? "", { sha256: entry.sha256 });
    }),
  );
}

/**
 * Reads a package's modules and checks each against its signed digest again, so
 * code altered in storage after publish is refused, not run. Raises
 * `ERR_PACKAGE_CODE_MISSING` or `ERR_PACKAGE_CODE_ALTERED`.
 */
export async function getModules(bucket: R2Bucket, manifest: Manifest): Promise<Record<string, string>> {
  const modules: Record<string, string> = {};
  const label = `${manifest.name}@${manifest.version}`;

  await Promise.all(
    Object.entries(manifest.modules).map(async ([name, entry]) => {
      const object = await bucket.get(keyFor(entry.sha256));
      if (object === null) {
        throw new BerthError("ERR_PACKAGE_CODE_MISSING", `module ${name} of ${label} is missing from package storage; publish the package again`);
      }
      const source = await object.text();
      if ((await sha256Hex(source)) !== entry.sha256) {
        throw new BerthError("ERR_PACKAGE_CODE_ALTERED", `module ${name} of ${label} in package storage no longer matches its signed digest; it will not be loaded`);
      }
      modules[name] = source;
    }),
  );
  return modules;
}
