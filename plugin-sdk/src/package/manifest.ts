/**
 * The manifest: a plugin's declaration of what it is, what it needs and which hooks
 * it handles. It travels as the payload of a signed JWT (see `sign.ts`), and every
 * field below has exactly one spelling.
 *
 * @module
 */
import semver from "semver";
import * as v from "valibot";

import { LIMITS } from "./limits.ts";
import {
  CAPABILITY_NAME,
  CONFIG_FIELD_NAME,
  HOOK_POINT_NAME,
  HOST_PATTERN,
  IDENTIFIER,
  PLUGIN_NAME,
  RESERVED_METHODS,
  forbiddenHostReason,
  isModuleName,
} from "./names.ts";

/** Lifecycle events a plugin may handle, each a method of its lifecycle entrypoint. */
export const LIFECYCLE_EVENTS = ["install", "enable", "disable", "configure", "upgrade", "uninstall"] as const;

/** One lifecycle event name. */
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** Lowest and highest priority a hook subscription may declare; higher runs first. */
export const PRIORITY_RANGE = { min: -100, max: 100 } as const;

const text = v.pipe(v.string(), v.maxLength(LIMITS.text, `must be at most ${LIMITS.text} characters`));

const pluginName = v.pipe(
  v.string(),
  v.regex(PLUGIN_NAME, "must be 1 to 64 lower-case letters, digits or inner hyphens"),
);

/**
 * A strict semver version such as `1.2.3` or `1.2.3-beta.1`, without a leading `v`
 * and without build metadata: semver ignores `+build` when it compares versions,
 * so `1.0.0+a` and `1.0.0+b` would be two contents under one version.
 */
export const versionSchema = v.pipe(
  v.string(),
  v.maxLength(LIMITS.version, `must be at most ${LIMITS.version} characters`),
  v.check((value) => !value.includes("+"), "must not carry build metadata (+...); semver ignores it when comparing versions, so publish a new version instead"),
  // valibot runs every check of a pipe even after one fails, so this check skips over-long values before semver parses them.
  v.check((value) => value.length > LIMITS.version || semver.valid(value) === value, "must be a strict semver version such as 1.0.0"),
);

/**
 * A semver range such as `^0.1.0`, length-checked before semver parses it. Build
 * metadata is rejected because semver drops it from ranges without a word.
 */
export const rangeSchema = v.pipe(
  v.string(),
  v.maxLength(LIMITS.range, `must be at most ${LIMITS.range} characters`),
  // semver reads "" as "*", which would silently claim every host version.
  v.check((value) => value.trim() !== "", "must not be empty; write the supported host versions as a range such as ^0.1.0"),
  v.check((value) => !value.includes("+"), "must not carry build metadata (+...); semver ignores it in ranges"),
  v.check((value) => value.length > LIMITS.range || semver.validRange(value) !== null, "must be a valid semver range such as ^0.1.0"),
);

const identifier = v.pipe(
  v.string(),
  v.regex(IDENTIFIER, "must be a plain identifier of letters, digits and underscores"),
  v.check((value) => !RESERVED_METHODS.has(value), "must not be a reserved name such as fetch or then"),
);

const compatibilityDate = v.pipe(
  v.string(),
  v.isoDate("must be a date in the form YYYY-MM-DD"),
);

const moduleName = v.pipe(
  v.string(),
  v.check(isModuleName, "must be a relative path of [A-Za-z0-9_.-] segments ending in .js or .mjs, without '..'"),
);

const moduleEntry = v.strictObject({
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits")),
  size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(LIMITS.moduleBytes)),
});

const hostPattern = v.pipe(
  v.string(),
  v.maxLength(261),
  v.regex(HOST_PATTERN, "must be a lower-case host name, optionally with a *. prefix and a :port"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || !HOST_PATTERN.test(dataset.value)) return;
    const reason = forbiddenHostReason(dataset.value);
    if (reason !== undefined) addIssue({ message: reason });
  }),
);

/** A plugin's request for one capability; `hosts` applies to `network` only. */
const capabilityRequest = v.strictObject({
  optional: v.optional(v.boolean()),
  hosts: v.optional(
    v.pipe(v.array(hostPattern), v.minLength(1), v.maxLength(LIMITS.hosts, `must list at most ${LIMITS.hosts} hosts`)),
  ),
});

const hookSubscription = v.strictObject({
  entrypoint: identifier,
  method: identifier,
  priority: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(PRIORITY_RANGE.min), v.maxValue(PRIORITY_RANGE.max)),
  ),
});

const configField = v.pipe(
  v.strictObject({
    type: v.picklist(["string", "number", "boolean", "string[]"], "must be string, number, boolean or string[]"),
    description: v.optional(text),
    required: v.optional(v.boolean()),
    default: v.optional(v.union([v.string(), v.number(), v.boolean(), v.array(v.string())])),
    /** A secret is never returned by the API and is masked in the installation's log. */
    secret: v.optional(v.boolean()),
  }),
  v.forward(
    v.check(
      (field) => field.default === undefined || defaultMatchesType(field.default, field.type),
      (issue) => `must be of the field's type, ${(issue.input as { type: string }).type}`,
    ),
    ["default"],
  ),
  // Anyone who can read the package can read its signed manifest.
  v.forward(
    v.check((field) => field.secret !== true || field.default === undefined, "must be left out for a secret field, because the signed manifest is readable by anyone with the package"),
    ["default"],
  ),
);

function defaultMatchesType(value: string | number | boolean | string[], type: "string" | "number" | "boolean" | "string[]"): boolean {
  if (type === "string[]") return Array.isArray(value);
  return typeof value === type;
}

const boundedRecord = <K extends v.GenericSchema<string, string>, V extends v.GenericSchema>(key: K, value: V) =>
  v.pipe(
    v.record(key, value),
    v.check((record) => Object.keys(record).length <= LIMITS.entries, `must have at most ${LIMITS.entries} entries`),
  );

/** The manifest schema. Unknown keys anywhere are errors that name their path. */
export const manifestSchema = v.pipe(
  v.strictObject({
    name: pluginName,
    version: versionSchema,
    publisher: pluginName,
    description: v.optional(text),
    hostRange: rangeSchema,
    compatibilityDate,
    main: moduleName,
    modules: v.pipe(
      v.record(moduleName, moduleEntry),
      v.check((record) => Object.keys(record).length >= 1, "must list at least one module"),
      v.check((record) => Object.keys(record).length <= LIMITS.modules, `must list at most ${LIMITS.modules} modules`),
    ),
    capabilities: v.optional(
      boundedRecord(
        v.pipe(v.string(), v.regex(CAPABILITY_NAME, "must be a capability name such as storage or tickets:read")),
        capabilityRequest,
      ),
      {},
    ),
    hooks: v.optional(
      boundedRecord(
        v.pipe(v.string(), v.regex(HOOK_POINT_NAME, "must be a hook point name such as ticket.created")),
        hookSubscription,
      ),
      {},
    ),
    lifecycle: v.optional(
      v.strictObject({
        entrypoint: identifier,
        events: v.pipe(
          v.array(v.picklist(LIFECYCLE_EVENTS, `must be one of ${LIFECYCLE_EVENTS.join(", ")}`)),
          v.minLength(1),
          v.maxLength(LIFECYCLE_EVENTS.length),
        ),
      }),
    ),
    config: v.optional(
      boundedRecord(
        v.pipe(v.string(), v.regex(CONFIG_FIELD_NAME, "must be a camelCase field name")),
        configField,
      ),
      {},
    ),
  }),
  v.forward(
    v.check((manifest) => Object.hasOwn(manifest.modules, manifest.main), "must name one of the listed modules"),
    ["main"],
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;

    // Only the network capability takes hosts, and it cannot do without them.
    for (const [name, request] of Object.entries(dataset.value.capabilities)) {
      const wantsHosts = name === "network";
      if (wantsHosts === (request.hosts !== undefined)) continue;
      addIssue({
        message: wantsHosts ? "network must list the hosts it needs" : `${name} does not take hosts`,
        path: [
          pathItem(dataset.value, "capabilities", dataset.value.capabilities),
          pathItem(dataset.value.capabilities, name, request),
        ],
      });
    }
  }),
);

/** A plugin manifest, as validated by {@link manifestSchema}. */
export type Manifest = v.InferOutput<typeof manifestSchema>;

/** The manifest as authors write it, where defaults may be left out. */
export type ManifestInput = v.InferInput<typeof manifestSchema>;

/** One capability request of a manifest. */
export type CapabilityRequest = v.InferOutput<typeof capabilityRequest>;

/** One hook subscription of a manifest. */
export type HookSubscription = v.InferOutput<typeof hookSubscription>;

/** One config field declaration of a manifest. */
export type ConfigField = v.InferOutput<typeof configField>;

function pathItem(record: object, key: string, value: unknown) {
  return { type: "object", origin: "value", input: record as Record<string, unknown>, key, value } as const;
}
