/**
 * Installation config: checked against the config fields a manifest declares,
 * with declared defaults filled in.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { issueToError, type ConfigField, type Manifest } from "@berth/plugin-sdk/package";
import * as v from "valibot";

/** Maximum length of a config string, and maximum number of items of a `string[]` value. */
const MAX_STRING = 2_000;
const MAX_ITEMS = 100;

/**
 * Shortest value, in characters, that a secret config field (each item of a
 * `string[]` one) may hold. Log lines are masked by replacing every occurrence
 * of a secret, so a short secret such as "a" would garble every line.
 */
export const MIN_SECRET_LENGTH = 8;

/** Keys that valibot's object and record schemas treat as prototype keys and drop without an issue. */
const PROTOTYPE_KEYS = new Set(["__proto__", "prototype", "constructor"]);

/** A validated installation config. */
export type Config = Record<string, string | number | boolean | string[]>;

function fieldSchema(field: ConfigField) {
  const secret = field.secret === true;
  const text = secret
    ? v.pipe(v.string(), v.minLength(MIN_SECRET_LENGTH, `must have at least ${MIN_SECRET_LENGTH} characters, because a shorter secret cannot be masked in the log`), v.maxLength(MAX_STRING))
    : v.pipe(v.string(), v.maxLength(MAX_STRING));
  switch (field.type) {
    case "string":
      return text;
    case "number":
      return secret
        ? v.pipe(v.number(), v.finite(), v.check((value) => String(value).length >= MIN_SECRET_LENGTH, `must have at least ${MIN_SECRET_LENGTH} characters as written, because a shorter secret cannot be masked in the log`))
        : v.pipe(v.number(), v.finite());
    case "boolean":
      return v.boolean();
    case "string[]":
      return v.pipe(v.array(text), v.maxLength(MAX_ITEMS));
  }
}

/**
 * Raises `ERR_CONFIG_INVALID` for an own key of `input` that the manifest does
 * not declare. `strictObject` finds the others, but it skips keys such as
 * `constructor` that exist on every object's prototype.
 */
function rejectUnknownKeys(manifest: Manifest, input: unknown): void {
  if (typeof input !== "object" || input === null) return;
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(manifest.config, key) || PROTOTYPE_KEYS.has(key)) {
      throw new BerthError("ERR_CONFIG_INVALID", `config.${key} is not a known key; remove it or check its spelling`, { path: `config.${key}` });
    }
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

  rejectUnknownKeys(manifest, input);

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

/**
 * Replaces every occurrence of each text in `secrets` with `[secret]`. Pass the
 * output of {@link secretValues}, whose forms are longest first, so that a secret
 * inside a longer one does not leave the longer one's rest behind.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) masked = masked.split(secret).join("[secret]");
  return masked;
}

/**
 * Returns the secret values of a config in every form a log line may show them,
 * longest first, for {@link maskSecrets}: see {@link secretForms}.
 */
export function secretValues(manifest: Manifest, config: Config): string[] {
  const values = Object.entries(config)
    // NOTE: a secret boolean is never masked: masking "true" would garble every line, and it carries one bit.
    .filter(([name, value]) => manifest.config[name]?.secret === true && typeof value !== "boolean")
    .flatMap(([, value]) => (Array.isArray(value) ? value : [String(value)]));
  return sortLongestFirst(values.flatMap(secretForms));
}

/** Returns `values` without repeats, longest first. */
export function sortLongestFirst(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

/**
 * Returns the forms in which `secret` may appear in a log line. These are the
 * value as it is, as JSON string content, and percent-encoded by
 * `encodeURIComponent` and `encodeURI`. They include the value as a URL parser
 * writes it in a path and in a query, where a `#` ends it. They also include its
 * UTF-8 bytes written `\xNN` in lower- and upper-case hex, as workerd quotes an
 * invalid header value.
 */
export function secretForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1)];
  try {
    forms.push(encodeURIComponent(secret), encodeURI(secret));
  } catch {
    // A lone surrogate cannot be percent-encoded, so no URL can contain this secret encoded.
  }
  const inPath = new URL(`https://host.invalid/${secret}`);
  forms.push(`${inPath.pathname.slice(1)}${inPath.search}`);
  forms.push(new URL(`https://host.invalid/?${secret}`).search.slice(1));

  const hex = [...new TextEncoder().encode(secret)].map((byte) => `\\x${byte.toString(16).padStart(2, "0")}`).join("");
  forms.push(hex, hex.toUpperCase().replaceAll("\\X", "\\x"));

  // NOTE: a URL form cut short by a "#" in the secret is masked only from MIN_SECRET_LENGTH characters on, so a shorter start stays visible.
  return forms.filter((form) => form === secret || form.length >= MIN_SECRET_LENGTH);
}
