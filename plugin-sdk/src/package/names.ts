/**
 * Patterns for the names a manifest carries. Every name that later becomes part of
 * a storage key, an isolate ID or an RPC call is checked against one of these.
 */

/** Plugin and publisher names: lower-case letters, digits and inner hyphens, 1 to 64 characters. */
export const PLUGIN_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** Hook point names: dot-separated camelCase words, such as `ticket.beforeCreate`. */
export const HOOK_POINT_NAME = /^[a-z][a-zA-Z0-9]{0,31}(?:\.[a-z][a-zA-Z0-9]{0,31}){1,3}$/;

/** Capability names: a built-in word (`storage`) or an app scope (`tickets:read`). */
export const CAPABILITY_NAME = /^[a-z][a-z0-9-]{0,31}(?::[a-z][a-z0-9-]{0,31})?$/;

/** Entrypoint and method names: plain JavaScript identifiers without `$`. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Config field names: camelCase identifiers. */
export const CONFIG_FIELD_NAME = /^[a-z][a-zA-Z0-9]{0,63}$/;

/**
 * Module names: relative paths of `[A-Za-z0-9_.-]` segments ending in `.js` or
 * `.mjs`. No segment may be empty, `.` or `..`, so a name can never leave its
 * package's folder; backslashes and control characters cannot match.
 */
export const MODULE_NAME = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.m?js$/;

/** A host in a network request or grant: a DNS name with an optional `*.` prefix and port. */
export const HOST_PATTERN =
  /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$/;

/**
 * Returns why a network host pattern (already matching {@link HOST_PATTERN}) must
 * not be requested or granted, or `undefined` when it may be. Rejected: IP
 * literals, `localhost` and its subdomains, and a wildcard over a single label
 * such as `*.com`, because a plugin must never reach loopback, private or cloud
 * metadata addresses (169.254.169.254) or every site under a top-level domain.
 */
export function forbiddenHostReason(pattern: string): string | undefined {
  const host = pattern.replace(/:\d+$/, "");
  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  const labels = name.split(".");
  const last = labels[labels.length - 1] ?? "";

  // The URL standard parses a host whose last label is a decimal or 0x number as
  // IPv4, so 2130706433 and 0x7f000001 are 127.0.0.1 just as *.0.0.1 covers it.
  if (/^\d+$/.test(last) || /^0x[0-9a-f]*$/.test(last)) {
    return "must be a DNS name, not an IP address; a plugin may not reach addresses by number";
  }
  if (name === "localhost" || name.endsWith(".localhost")) {
    return "must not be localhost; a plugin may not reach the host's loopback interface";
  }
  // NOTE: only single-label suffixes are caught; without the Public Suffix List
  // a wildcard such as *.co.uk still passes.
  if (wildcard && labels.length === 1) {
    return `must not be a wildcard over a whole top-level domain (*.${name}); list the hosts under one domain, such as *.example.${name}`;
  }
  return undefined;
}

/**
 * Method names the host never calls on a plugin entrypoint: the runtime's own
 * handlers, `then` (a stub with `then` would be awaited as a thenable) and the
 * properties every object inherits.
 */
export const RESERVED_METHODS: ReadonlySet<string> = new Set([
  "fetch",
  "connect",
  "constructor",
  "then",
  "scheduled",
  "queue",
  "tail",
  "tailStream",
  "trace",
  "email",
  "alarm",
  "test",
  "webSocketMessage",
  "webSocketClose",
  "webSocketError",
  "dup",
  "toString",
  "toLocaleString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

/** Tells whether a module name is safe to use as a key in a loaded Worker's module map. */
export function isModuleName(name: string): boolean {
  if (name.length > 128 || !MODULE_NAME.test(name)) return false;
  return name.split("/").every((segment) => segment !== "." && segment !== "..");
}
