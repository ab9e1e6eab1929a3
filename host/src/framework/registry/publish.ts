/**
 * Publishing and resolving packages, run in the host Worker in front of the
 * registry Durable Object.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { checkHostRange, createTrustStore, verifyPackage, verifySignedManifest, type TrustStore } from "@berth/plugin-sdk/package";

import type { BerthEnv } from "../env.ts";
import { checkManifestForHost, type Host } from "../host.ts";
import { unwrap } from "../rpc.ts";
import { putModules } from "./code-store.ts";
import type { AddOutcome, PackageRecord, RegistryObject } from "./registry-object.ts";

/** Returns the stub of the one registry Durable Object. */
export function registryStub(env: BerthEnv): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName("catalogue"));
}

/**
 * Returns the registry's trust store as it is now, after seeding it with the
 * host's configured keys. Every verification at publish and install uses this.
 */
export async function loadTrustStore(env: BerthEnv, host: Host): Promise<TrustStore> {
  return createTrustStore(await registryStub(env).trustedKeys([...host.configuredKeys(env)]));
}

/**
 * Verifies and stores a package. Every check runs before the first write, so a
 * rejected package leaves nothing stored. Raises the verifier's codes,
 * `ERR_MANIFEST_UNKNOWN_CAPABILITY`, `ERR_MANIFEST_UNKNOWN_HOOK`,
 * `ERR_REGISTRY_VERSION_CONFLICT` and `ERR_PACKAGE_YANKED`. The same content
 * signed again with a newer signature refreshes the stored token (see
 * {@link RegistryObject.add}).
 */
export async function publishPackage(body: unknown, host: Host, env: BerthEnv): Promise<{ record: PackageRecord } & AddOutcome> {
  const verified = await verifyPackage(body, { trust: await loadTrustStore(env, host), hostVersion: host.version, purpose: "publish" });
  const { manifest } = verified;
  checkManifestForHost(manifest, host);

  const registry = registryStub(env);
  unwrap(await registry.checkFree({ name: manifest.name, version: manifest.version, contentDigest: verified.contentDigest, manifest }));

  const record: PackageRecord = {
    name: manifest.name,
    version: manifest.version,
    publisher: manifest.publisher,
    digest: verified.digest,
    contentDigest: verified.contentDigest,
    kid: verified.kid,
    token: verified.token,
    manifest,
    publishedAt: Date.now(),
    issuedAt: verified.issuedAt,
    yanked: null,
  };
  await putModules(env.PACKAGES, manifest, verified.modules);
  const outcome = unwrap(await registry.add(record));
  return { record, ...outcome };
}

/**
 * Resolves `name` at an exact version or the greatest version in a range. Then
 * checks its signature against the registry's trust store as it is now, and its
 * host range against this host. So a revoked key, an expired signature or a
 * retired key past its `notAfter` stops installs too. Raises `ERR_PACKAGE_YANKED`
 * for a yanked exact version.
 */
export async function resolvePackage(env: BerthEnv, host: Host, name: string, versionOrRange: string): Promise<PackageRecord> {
  const record = unwrap(await registryStub(env).resolve(name, versionOrRange));
  if (record.yanked !== null) {
    throw new BerthError("ERR_PACKAGE_YANKED", `${record.name}@${record.version} was yanked: ${record.yanked.reason}; install or upgrade to another version`, {
      path: "version",
    });
  }
  const verified = await verifySignedManifest(record.token, { trust: await loadTrustStore(env, host), hostVersion: host.version, purpose: "install" });
  const { manifest } = verified;
  checkHostRange(manifest, host.version);
  checkManifestForHost(manifest, host);
  return { ...record, manifest, kid: verified.kid, contentDigest: verified.contentDigest };
}
