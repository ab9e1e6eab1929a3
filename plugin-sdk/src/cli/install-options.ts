/**
 * Parsing of `berth install`'s arguments: `NAME[@VERSION_OR_RANGE]`, `--grant`
 * and `--config`, into the body of `POST /v1/tenants/:tenant/installations`.
 *
 * @module
 */
import { BerthError } from "../errors.ts";
import type { ConfigField } from "../package/manifest.ts";
import { CAPABILITY_NAME, PLUGIN_NAME } from "../package/names.ts";
import { usageError } from "./errors.ts";

/** The grant of one capability, as the install body carries it. */
export type Grant = { hosts?: string[] };

/** A config value of any declared field type. */
export type ConfigValue = string | number | boolean | string[];

/** Splits `NAME[@VERSION_OR_RANGE]`; the version is undefined when none is given. */
export function parsePluginSpec(spec: string): { name: string; version: string | undefined } {
  const at = spec.indexOf("@");
  const name = at === -1 ? spec : spec.slice(0, at);
  const version = at === -1 ? undefined : spec.slice(at + 1);
  if (!PLUGIN_NAME.test(name)) {
    throw usageError(`"${name}" is not a plugin name; pass NAME or NAME@VERSION, for example ticket-counter@^0.1.0`);
  }
  if (version?.trim() === "") throw usageError(`"${spec}" is missing a version after @; pass a version or range such as ${name}@^0.1.0`);
  return { name, version };
}

/**
 * Parses `--grant` values: `storage`, `tickets:read`, or `network=a.example.com,b.example.com`.
 * `network` without hosts grants every requested host.
 */
export function parseGrants(values: readonly string[]): Record<string, Grant> {
  const grants: Record<string, Grant> = {};
  for (const value of values) {
    const equals = value.indexOf("=");
    const capability = equals === -1 ? value : value.slice(0, equals);
    if (!CAPABILITY_NAME.test(capability)) {
      throw usageError(`--grant "${value}" does not start with a capability name such as storage, network or tickets:read`);
    }
    if (Object.hasOwn(grants, capability)) throw usageError(`--grant ${capability} is given twice; give each capability once`);

    if (equals === -1) {
      grants[capability] = {};
      continue;
    }
    const hosts = value
      .slice(equals + 1)
      .split(",")
      .map((host) => host.trim())
      .filter((host) => host !== "");
    if (hosts.length === 0) throw usageError(`--grant ${capability}= lists no hosts; pass ${capability}=api.example.com or just ${capability}`);
    grants[capability] = { hosts };
  }
  return grants;
}

/** Splits `--config key=value` values into pairs, in order. */
export function parseConfigPairs(values: readonly string[]): [string, string][] {
  return values.map((value) => {
    const equals = value.indexOf("=");
    if (equals <= 0) throw usageError(`--config "${value}" must have the form key=value`);
    return [value.slice(0, equals), value.slice(equals + 1)];
  });
}

/** Parses `--config-json`, which must be a JSON object. */
export function parseConfigJson(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw usageError("--config-json is not valid JSON; pass an object such as '{\"greeting\":\"hello\"}'");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw usageError("--config-json must be a JSON object such as '{\"greeting\":\"hello\"}'");
  }
  return json as Record<string, unknown>;
}

/**
 * Converts `key=value` pairs to the types the plugin's config fields declare:
 * numbers, `true`/`false`, and comma-separated lists for `string[]` (a repeated
 * key appends). Raises `ERR_CONFIG_INVALID` naming the field.
 */
export function coerceConfig(pairs: readonly [string, string][], fields: Record<string, ConfigField>, plugin: string): Record<string, ConfigValue> {
  const config: Record<string, ConfigValue> = {};
  for (const [key, raw] of pairs) {
    const path = `config.${key}`;
    const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (field === undefined) {
      const known = Object.keys(fields);
      const hint = known.length === 0 ? `${plugin} declares no config fields` : `the fields of ${plugin} are ${known.join(", ")}`;
      throw new BerthError("ERR_CONFIG_INVALID", `${path} is not a config field; ${hint}`, { path });
    }

    const previous = config[key];
    if (previous !== undefined && field.type !== "string[]") throw usageError(`--config ${key} is given twice; give it once`);
    config[key] = coerceValue(raw, field, path, previous);
  }
  return config;
}

function coerceValue(raw: string, field: ConfigField, path: string, previous: ConfigValue | undefined): ConfigValue {
  switch (field.type) {
    case "string":
      return raw;
    case "number": {
      const number = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(number)) {
        throw new BerthError("ERR_CONFIG_INVALID", `${path} must be a number (received "${raw}")`, { path });
      }
      return number;
    }
    case "boolean":
      if (raw !== "true" && raw !== "false") {
        throw new BerthError("ERR_CONFIG_INVALID", `${path} must be true or false (received "${raw}")`, { path });
      }
      return raw === "true";
    case "string[]": {
      const items = raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
      return [...(Array.isArray(previous) ? previous : []), ...items];
    }
  }
}
