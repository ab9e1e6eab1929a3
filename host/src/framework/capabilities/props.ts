/**
 * The props of every capability binding. They are set by the host when it builds a
 * plugin's `env`, so the plugin can neither forge nor change them; entrypoints
 * still validate them and fail closed.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import * as v from "valibot";

import { grantSchema } from "./grants.ts";

/** Props of a capability binding: whose call it is, and what was granted. */
export const capabilityPropsSchema = v.strictObject({
  tenant: v.pipe(v.string(), v.minLength(1)),
  installation: v.pipe(v.string(), v.uuid()),
  plugin: v.string(),
  version: v.string(),
  capability: v.string(),
  grant: grantSchema,
});

/** Props of a capability binding. */
export type CapabilityProps = v.InferOutput<typeof capabilityPropsSchema>;

/**
 * Returns validated props for `capability`. Raises `ERR_CAPABILITY_PROPS_INVALID`
 * when the props are malformed or were made for another capability.
 */
export function parseProps(props: unknown, capability: string): CapabilityProps {
  const parsed = v.safeParse(capabilityPropsSchema, props);
  if (!parsed.success || parsed.output.capability !== capability) {
    throw new BerthError("ERR_CAPABILITY_PROPS_INVALID", `the ${capability} binding was called with invalid props; the call was rejected`);
  }
  return parsed.output;
}
