/**
 * Size limits of packages and manifests. The host checks them before it parses,
 * verifies or stores anything, and `berth build` checks them before it signs.
 */
export const LIMITS = {
  /** Maximum size of a whole package request body, in bytes. */
  packageBytes: 1024 * 1024,
  /** Maximum size of the compact JWS that contains the signed manifest, in bytes. */
  manifestBytes: 32 * 1024,
  /** Maximum size of one module's source, in bytes. */
  moduleBytes: 512 * 1024,
  /** Maximum number of modules in one package. */
  modules: 32,
  /** Maximum length of a module name, in characters. */
  moduleName: 128,
  /** Maximum length of a version range such as `>=0.1.0 <1.0.0`, checked before semver parses it. */
  range: 128,
  /** Maximum length of a version, checked before semver parses it. */
  version: 64,
  /** Maximum length of free text such as a description. */
  text: 500,
  /** Maximum number of hook subscriptions, capabilities or config fields in one manifest. */
  entries: 64,
  /** Maximum number of hosts in one network request or grant. */
  hosts: 20,
  /** Maximum nesting depth of arrays and objects in a JSON request body, checked before it is parsed. */
  jsonDepth: 32,
} as const;
