/**
 * Loading a plugin into a Dynamic Worker. The isolate ID covers everything that
 * shapes the WorkerCode, because the loader keeps the first code it saw for an ID.
 *
 * @module
 */
import { bindingName, type PluginIdentity } from "@berth/plugin-sdk";
import { sha256Hex } from "@berth/plugin-sdk/package";

import type { CapabilityProps } from "../capabilities/props.ts";
import type { BerthEnv } from "../env.ts";
import type { Host } from "../host.ts";
import { getModules } from "../registry/code-store.ts";
import type { Installation } from "../tenants/installation.ts";
import { canonicalJson } from "../util.ts";

/** A `ctx.exports` entry: calling it with props makes a loopback binding. */
export type LoopbackFactory = (options: { props: unknown }) => Fetcher;

/** What loading needs from the caller. */
export interface LoaderContext {
  env: BerthEnv;
  host: Host;
  /** `ctx.exports` of the host's main module. */
  exports: Record<string, LoopbackFactory | undefined>;
}

// Isolate IDs whose code this process has read and verified at least once.
const verifiedIds = new Set<string>();

/**
 * Returns the isolate ID: `name:version:` then a digest of the tenant, the
 * installation, its grants and config, the package digest and the host version.
 * Any change to these gives a new ID, so a new isolate with the new WorkerCode.
 */
export async function isolateId(installation: Installation, host: Host): Promise<string> {
  const shape = canonicalJson({
    tenant: installation.tenant,
    installation: installation.id,
    digest: installation.digest,
    grants: installation.grants,
    config: installation.config,
    host: host.version,
  });
  return `${installation.name}:${installation.version}:${(await sha256Hex(shape)).slice(0, 32)}`;
}

/**
 * Returns a stub of the installation's Dynamic Worker. The first load of an ID in
 * this process reads and verifies the code before handing it to the loader, so
 * code altered in storage raises `ERR_PACKAGE_CODE_ALTERED` here.
 */
export async function loadPlugin(installation: Installation, context: LoaderContext): Promise<WorkerStub> {
  const id = await isolateId(installation, context.host);

  if (!verifiedIds.has(id)) {
    const code = await workerCode(installation, context);
    verifiedIds.add(id);
    return context.env.LOADER.get(id, () => code);
  }
  // The callback is pure for this ID: every input of the code is covered by it.
  return context.env.LOADER.get(id, () => workerCode(installation, context));
}

async function workerCode(installation: Installation, context: LoaderContext): Promise<WorkerLoaderWorkerCode> {
  const { manifest } = installation;
  const modules = await getModules(context.env.PACKAGES, manifest);
  const identity: PluginIdentity = {
    tenant: installation.tenant,
    installation: installation.id,
    plugin: installation.name,
    version: installation.version,
  };
  const propsFor = (capability: string): CapabilityProps => ({
    ...identity,
    capability,
    grant: installation.grants[capability] ?? {},
  });

  const env: Record<string, unknown> = { BERTH: identity, CONFIG: installation.config };
  for (const name of Object.keys(installation.grants)) {
    const definition = context.host.capabilities.get(name);
    if (definition?.entrypoint === undefined) continue;
    env[definition.binding ?? bindingName(name)] = loopback(context, definition.entrypoint)({ props: propsFor(name) });
  }

  // No ambient network: without a grant, fetch() and connect() throw.
  const network = installation.grants["network"] === undefined ? null : loopback(context, context.host.entrypoints.egress)({ props: propsFor("network") });

  return {
    compatibilityDate: manifest.compatibilityDate,
    mainModule: manifest.main,
    modules,
    env,
    globalOutbound: network,
    tails: [loopback(context, context.host.entrypoints.logs)({ props: propsFor("logs") })],
  };
}

function loopback(context: LoaderContext, entrypoint: string): LoopbackFactory {
  const factory = context.exports[entrypoint];
  if (factory === undefined) {
    throw new Error(`the host's main module does not export the entrypoint ${entrypoint}; export it so plugins can reach it`);
  }
  return factory;
}
