/**
 * The capability catalogue: the powers a plugin may request, each with the
 * plain-language description a consent screen shows. `storage` and `network` are
 * built in; host developers add app data scopes such as `tickets:read`.
 *
 * @module
 */
import { bindingName } from "@berth/plugin-sdk";
import { CAPABILITY_NAME, IDENTIFIER } from "@berth/plugin-sdk/package";

/** One capability a host offers. */
export interface CapabilityDefinition {
  /** `storage`, `network`, or an app scope such as `tickets:read`. */
  name: string;
  /** The consent text: what granting it allows, in words a tenant admin understands. */
  description: string;
  /**
   * Name of the `WorkerEntrypoint` class, exported from the host's main module,
   * that serves the binding. Absent for `network`, which is routed through
   * `globalOutbound` instead of an `env` entry.
   */
  entrypoint?: string;
  /** Name of the binding in the plugin's `env`; derived from `name` by default. */
  binding?: string;
  /** Whether requests and grants of this capability list hosts (only `network`). */
  takesHosts?: boolean;
  /**
   * The shape of the options a request or grant of this capability takes, in words
   * for plugin authors and tenant admins. Absent when it takes none.
   */
  options?: string;
}

/** The built-in `storage` capability. */
export const STORAGE: CapabilityDefinition = {
  name: "storage",
  description: "Keep its own key-value data in this tenant; no other plugin or tenant can read it.",
  entrypoint: "BerthStorage",
};

/** The built-in `network` capability. */
export const NETWORK: CapabilityDefinition = {
  name: "network",
  description: "Send HTTP requests to the listed hosts only; every request is counted.",
  takesHosts: true,
  options:
    "hosts: a list of lower-case host names such as api.example.com, each with an optional :port; *.example.com covers every subdomain but not example.com itself. " +
    "A grant may list fewer hosts than the request; a grant without hosts gets all requested ones.",
};

/**
 * Declares an app capability. Raises a plain `Error` at start-up for a name that
 * is not `resource:action` or an entrypoint that is not an identifier.
 */
export function defineCapability(definition: CapabilityDefinition): CapabilityDefinition {
  if (!CAPABILITY_NAME.test(definition.name) || !definition.name.includes(":")) {
    throw new Error(`capability name "${definition.name}" must have the form resource:action, such as tickets:read`);
  }
  if (definition.entrypoint === undefined || !IDENTIFIER.test(definition.entrypoint)) {
    throw new Error(`capability ${definition.name}: entrypoint must name an exported WorkerEntrypoint class`);
  }
  return { ...definition, binding: definition.binding ?? bindingName(definition.name) };
}

/** Tells whether `host` (a URL's `host`, with port if any) matches a host pattern. */
export function hostMatches(host: string, pattern: string): boolean {
  if (!pattern.startsWith("*.")) return host === pattern;
  // A wildcard covers subdomains at any depth, never the bare domain itself.
  return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
}

/** Tells whether the granted host pattern is covered by one of the requested ones. */
export function patternCovered(granted: string, requested: readonly string[]): boolean {
  return requested.some((pattern) => {
    if (pattern === granted) return true;
    if (!pattern.startsWith("*.")) return false;
    const bare = granted.startsWith("*.") ? granted.slice(2) : granted;
    return hostMatches(bare, pattern);
  });
}
