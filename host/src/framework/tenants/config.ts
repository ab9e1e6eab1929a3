/**
 * Installation config: checked against the config fields a manifest declares,
 * with declared defaults filled in.
 *
 * @module
 */
import { issueToError, type ConfigField, type Manifest } from "@berth/plugin-sdk/package";
import * as v from "valibot";

/** Longest string a config value may hold, and most items of a `string[]` value. */
const MAX_STRING = 2_000;
const MAX_ITEMS = 100;

/** A validated installation config. */
export type Config = Record<string, string | number | boolean | string[]>;

function fieldSchema(field: ConfigField) {
  switch (field.type) {
    case "string":
      return v.pipe(v.string(), v.maxLength(MAX_STRING));
    case "number":
      return v.pipe(v.number(), v.finite());
    case "boolean":
      return v.boolean();
    case "string[]":
      return v.pipe(v.array(v.pipe(v.string(), v.maxLength(MAX_STRING))), v.maxLength(MAX_ITEMS));
  }
}

/**
 * Validates a config against the manifest's fields and fills in defaults. Raises
 * `ERR_CONFIG_INVALID` naming the field, for unknown fields too.
 */
export function resolveConfig(manifest: Manifest, input: unknown, previous: Config = {}): Config {
  const entries: Record<string, v.GenericSchema> = {};
  for (const [name, field] of Object.entries(manifest.config)) {
    const schema = fieldSchema(field);
    entries[name] = field.required === true ? schema : v.optional(schema);
  }

  // A secret left out of a change keeps its stored value, so admins need not resend it.
  const withSecrets: Record<string, unknown> = { ...(input as Record<string, unknown> | undefined) };
  for (const [name, field] of Object.entries(manifest.config)) {
    if (field.secret === true && withSecrets[name] === undefined && previous[name] !== undefined) withSecrets[name] = previous[name];
  }

  const parsed = v.safeParse(v.strictObject(entries), withSecrets);
  if (!parsed.success) {
    // An invalid secret is named but never quoted: the rejected value may be the secret itself.
    const field = parsed.issues[0]?.path?.[0]?.key;
    const secret = typeof field === "string" && Object.hasOwn(manifest.config, field) && manifest.config[field]?.secret === true;
    throw issueToError(parsed.issues, { code: "ERR_CONFIG_INVALID", prefix: "config", quoteReceived: !secret });
  }

  const config: Config = {};
  for (const [name, field] of Object.entries(manifest.config)) {
    const value = (parsed.output as Record<string, Config[string] | undefined>)[name] ?? field.default;
    if (value !== undefined) config[name] = value;
  }
  return config;
}

/** Returns the config as the API shows it: each secret field's value is left out. */
export function publicConfig(manifest: Manifest, config: Config): { config: Config; secrets: string[] } {
  const shown: Config = {};
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (manifest.config[name]?.secret === true) secrets.push(name);
    else shown[name] = value;
  }
  return { config: shown, secrets };
}

/** Replaces every occurrence of each secret value in `text` with `[secret]`; pass secrets longest first. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) masked = masked.split(secret).join("[secret]");
  return masked;
}

/** Returns the secret values of a config, longest first, for masking log lines. */
export function secretValues(manifest: Manifest, config: Config): string[] {
  return Object.entries(config)
    .filter(([name]) => manifest.config[name]?.secret === true)
    .flatMap(([, value]) => (Array.isArray(value) ? value : [String(value)]))
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length);
}
