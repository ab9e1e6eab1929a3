/**
 * A host profile: the names a host offers (hook points, capabilities) and the
 * newest compatibility date its runtime supports. The host checks manifests
 * against its own profile at publish and install; `berth verify --profile FILE`
 * runs the same check offline.
 *
 * @module
 */
import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { issueToError } from "./issues.ts";
import type { Manifest } from "./manifest.ts";
import { versionSchema } from "./manifest.ts";

/** The schema of a host profile file, such as `manifests/help-desk.host-profile.json`. */
export const hostProfileSchema = v.strictObject({
  version: versionSchema,
  maxCompatibilityDate: v.pipe(v.string(), v.isoDate("must be a date in the form YYYY-MM-DD")),
  hookPoints: v.array(v.string()),
  capabilities: v.array(v.string()),
});

/** A host's offer to plugins: version, compatibility date, hook points and capabilities. */
export type HostProfile = v.InferOutput<typeof hostProfileSchema>;

/** Validates a host profile document. Raises `ERR_REQUEST_INVALID` naming the field. */
export function parseHostProfile(input: unknown): HostProfile {
  const parsed = v.safeParse(hostProfileSchema, input);
  if (!parsed.success) throw issueToError(parsed.issues, { code: "ERR_REQUEST_INVALID", prefix: "profile" });
  return parsed.output;
}

/**
 * Checks what a verified manifest needs from a host: known capabilities, declared
 * hook points and a supported compatibility date. Raises
 * `ERR_MANIFEST_UNKNOWN_CAPABILITY`, `ERR_MANIFEST_UNKNOWN_HOOK` or `ERR_MANIFEST_INVALID`.
 */
export function checkManifestForProfile(manifest: Manifest, profile: Pick<HostProfile, "hookPoints" | "capabilities" | "maxCompatibilityDate">): void {
  const capabilities = new Set(profile.capabilities);
  for (const name of Object.keys(manifest.capabilities)) {
    if (!capabilities.has(name)) {
      throw new BerthError(
        "ERR_MANIFEST_UNKNOWN_CAPABILITY",
        `manifest.capabilities.${name}: this host offers no capability "${name}"; see GET /v1/capabilities`,
        { path: `manifest.capabilities.${name}` },
      );
    }
  }

  const hookPoints = new Set(profile.hookPoints);
  for (const name of Object.keys(manifest.hooks)) {
    if (!hookPoints.has(name)) {
      throw new BerthError("ERR_MANIFEST_UNKNOWN_HOOK", `manifest.hooks.${name}: this host declares no hook point "${name}"; see GET /v1/hook-points`, {
        path: `manifest.hooks.${name}`,
      });
    }
  }

  if (manifest.compatibilityDate > profile.maxCompatibilityDate) {
    throw new BerthError(
      "ERR_MANIFEST_INVALID",
      `manifest.compatibilityDate ${manifest.compatibilityDate} is newer than this host's runtime supports (${profile.maxCompatibilityDate})`,
      { path: "manifest.compatibilityDate" },
    );
  }
}
