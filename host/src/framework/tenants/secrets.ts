/**
 * Secret config values that a lifecycle hook ran with before they were stored,
 * remembered for a while so that console lines delivered later are masked too.
 *
 * @module
 */
import { secretValues, sortLongestFirst } from "./config.ts";
import type { Installation } from "./installation.ts";

/**
 * Secret values of config shapes a lifecycle hook ran with before they were stored (or
 * never stored, when the hook failed), by installation ID, with the time in epoch
 * milliseconds until which they are used for masking.
 */
export type TriedSecrets = Map<string, { values: string[]; until: number }>;

/**
 * Adds the secret values of `installation`'s config to `tried` and keeps all
 * of the installation's remembered values for `keepMs` milliseconds from now.
 */
export function rememberTriedSecrets(tried: TriedSecrets, installation: Installation, keepMs: number): void {
  const values = secretValues(installation.manifest, installation.config);
  if (values.length > 0) {
    const earlier = tried.get(installation.id);
    const kept = earlier !== undefined && earlier.until > Date.now() ? earlier.values : [];
    tried.set(installation.id, { values: [...new Set([...kept, ...values])], until: Date.now() + keepMs });
  }
}

/**
 * Returns the values to mask in the installation's console lines: its stored
 * secret config values and the remembered ones still kept, in every form
 * {@link secretValues} lists, longest first.
 */
export function secretsToMask(tried: TriedSecrets, installation: Installation): string[] {
  const remembered = tried.get(installation.id);
  const recent = remembered !== undefined && remembered.until > Date.now() ? remembered.values : [];
  return sortLongestFirst([...secretValues(installation.manifest, installation.config), ...recent]);
}
