/**
 * The registry's index of which tenant runs which plugin version, which a key
 * revocation or a yank uses to reach the tenants that run the version.
 *
 * @module
 */
import type { BerthEnv } from "../env.ts";
import { registryStub } from "../registry/publish.ts";
import { describeError } from "../util.ts";
import type { Installation } from "./installation.ts";
import { escapeControlCharacters } from "./log-text.ts";

/** Adds the installation's tenant and version to the registry's index. */
export function track(env: BerthEnv, installation: Installation): Promise<void> {
  return registryStub(env).track({ tenant: installation.tenant, name: installation.name, version: installation.version });
}

/**
 * Removes the installation's tenant and version from the registry's index. An
 * index entry left behind only costs a no-op call at the next revocation or
 * yank, so a failure here is logged, not raised.
 */
export async function untrack(env: BerthEnv, installation: Installation): Promise<void> {
  try {
    await registryStub(env).untrack({ tenant: installation.tenant, name: installation.name, version: installation.version });
  } catch (error) {
    console.warn(`berth tenant=${installation.tenant} plugin=${installation.name}@${installation.version}: could not remove the version from the registry's index: ${escapeControlCharacters(describeError(error))}`);
  }
}
