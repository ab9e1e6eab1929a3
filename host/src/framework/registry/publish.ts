/**
 * Publishing and resolving packages, run in the host Worker in front of the
 * registry Durable Object.
 *
 * @module
 */
import { checkHostRange, verifyPackage, verifySignedManifest } from "@berth/plugin-sdk/package";

import type { BerthEnv } from "../env.ts";
import { checkManifestForHost, type Host } from "../host.ts";
import { unwrap } from "../rpc.ts";
import { putModules } from "./code-store.ts";
import type { PackageRecord, RegistryObject } from "./registry-object.ts";

/** Returns the stub of the one registry Durable Object. */
export function registryStub(env: BerthEnv): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName("catalogue"));
}

/**
 * Verifies and stores a package. Every check runs before the first write, so a
 * rejected package leaves nothing stored. Raises the verifier's codes,
 * `ERR_MANIFEST_UNKNOWN_CAPABILITY`, `ERR_MANIFEST_UNKNOWN_HOOK` and
 * `ERR_REGISTRY_VERSION_CONFLICT`.
 */
export async function publishPackage(body: unknown, host: Host, env: BerthEnv): Promise<{ record: PackageRecord; created: boolean }> {
  const verified = await verifyPackage(body, { trust: host.trustStore(env), hostVersion: host.version });
  const { manifest } = verified;
  checkManifestForHost(manifest, host);

  const registry = registryStub(env);
  unwrap(await registry.checkFree(manifest.name, manifest.version, verified.digest));

  const record: PackageRecord = {
    name: manifest.name,
    version: manifest.version,
    publisher: manifest.publisher,
    digest: verified.digest,
    kid: verified.kid,
    token: verified.token,
    manifest,
    publishedAt: Date.now(),
  };
  await putModules(env.PACKAGES, manifest, verified.modules);
  const { created } = unwrap(await registry.add(record));
  return { record, created };
}

/**
 * Resolves `name` at an exact version or the greatest version in a range, and
 * checks its signature against today's trust store and its host range against
 * this host, so a key no longer trusted stops installs too.
 */
export async function resolvePackage(env: BerthEnv, host: Host, name: string, versionOrRange: string): Promise<PackageRecord> {
  const record = unwrap(await registryStub(env).resolve(name, versionOrRange));
  const { manifest } = await verifySignedManifest(record.token, { trust: host.trustStore(env), hostVersion: host.version });
  checkHostRange(manifest, host.version);
  checkManifestForHost(manifest, host);
  return { ...record, manifest };
}
