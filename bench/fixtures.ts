/**
 * The plugin code and payloads every benchmark uses. Both the bench Worker
 * (bundled by wrangler) and the Node side of the harness (`scripts/bench.mjs`,
 * through Node's type stripping) import this file, so the hook work measured in
 * workerd and in the Node alternatives is the same source text.
 *
 * @module
 */

/**
 * The hook work as a plain script: an auto-tagger that scans a ticket's title
 * and body for keywords. `beforeCreate` is the filter (returns the draft with
 * tags added) and `created` is the event (does the same scan, returns nothing).
 */
export const HOOK_WORK_SOURCE = `
const KEYWORDS = [
  ["billing", ["invoice", "refund", "charge", "payment"]],
  ["bug", ["error", "crash", "broken", "exception"]],
  ["login", ["password", "sign in", "2fa", "locked out"]],
  ["urgent", ["asap", "urgent", "outage", "down"]],
];
function tagsFor(title, body) {
  const text = (title + "\\n" + body).toLowerCase();
  const tags = [];
  for (const [tag, words] of KEYWORDS) {
    if (words.some((word) => text.includes(word))) tags.push(tag);
  }
  return tags;
}
function beforeCreate(draft) {
  const tags = [...new Set([...draft.tags, ...tagsFor(draft.title, draft.body)])];
  return { ...draft, tags };
}
function created(ticket) {
  tagsFor(ticket.title, ticket.body);
}
`;

/** Entrypoint and method names the bench plugins export. */
export const HOOKS_ENTRYPOINT = "Hooks";
export const LIFECYCLE_ENTRYPOINT = "Lifecycle";

/** Options of {@link pluginModuleSource}. */
export interface PluginModuleOptions {
  /** Bytes of extra code appended, to model a large bundle; 0 for none. */
  paddingBytes?: number;
  /** Text embedded in the module so each version has distinct code and digest. */
  nonce?: string;
}

/**
 * Returns the `index.js` of a bench plugin: the hook work wrapped in a
 * `WorkerEntrypoint`, a `ping` for load timing that returns the build string
 * and the padding size, lifecycle methods, and optional padding code of about
 * `paddingBytes` bytes. A Worker module may export only entrypoints and
 * handlers, so the build string and the padding stay module-private.
 */
export function pluginModuleSource(options: PluginModuleOptions = {}): string {
  const nonce = options.nonce ?? "fixed";
  return `import { WorkerEntrypoint } from "cloudflare:workers";
${HOOK_WORK_SOURCE}
const BUILD = ${JSON.stringify(nonce)};
${paddingSource(options.paddingBytes ?? 0)}

export class ${HOOKS_ENTRYPOINT} extends WorkerEntrypoint {
  async beforeCreate(draft, context) { return beforeCreate(draft); }
  async created(ticket, context) { created(ticket); }
  async ping() { return BUILD + ":" + HELPERS.length; }
}

export class ${LIFECYCLE_ENTRYPOINT} extends WorkerEntrypoint {
  async install(context) {}
  async enable(context) {}
  async disable(context) {}
  async uninstall(context) {}
}
`;
}

/**
 * Returns about `bytes` bytes of ordinary library-like code: small functions
 * collected in the table `HELPERS`, which `ping` reads, so the module's top
 * level runs and V8 parses every function, as it would for a real bundle.
 */
function paddingSource(bytes: number): string {
  if (bytes <= 0) return "const HELPERS = [];\n";
  const lines: string[] = [];
  let size = 0;
  let index = 0;
  while (size < bytes) {
    const line = `function helper${index}(input) {
  const values = Array.isArray(input) ? input : [input];
  let total = ${index};
  for (const value of values) total = (total * 31 + String(value).length + ${index % 97}) % 1000003;
  return { id: "helper-${index}", total, label: "step " + total.toString(16) };
}
`;
    lines.push(line);
    size += line.length;
    index += 1;
  }
  const names = Array.from({ length: index }, (_unused, i) => `helper${i}`);
  return `${lines.join("")}const HELPERS = [${names.join(", ")}];\n`;
}

/** Which hook points a bench plugin subscribes to. */
export type Subscriptions = "both" | "none";

/** Options of {@link benchManifest}. */
export interface BenchManifestOptions {
  name: string;
  version: string;
  /** SHA-256 of `index.js`, lower-case hex. */
  sha256: string;
  /** Size of `index.js` in bytes. */
  size: number;
  /** `both`: `ticket.beforeCreate` and `ticket.created`; `none`: no hooks. */
  subscriptions: Subscriptions;
  /** Whether the plugin handles the `install` and `enable` lifecycle events. */
  lifecycle: boolean;
}

/** Publisher of every bench plugin: the development publisher the demo host trusts. */
export const BENCH_PUBLISHER = "berth-dev";

/** Returns the unsigned manifest of a bench plugin. */
export function benchManifest(options: BenchManifestOptions): Record<string, unknown> {
  const manifest: Record<string, unknown> = {
    name: options.name,
    version: options.version,
    publisher: BENCH_PUBLISHER,
    description: "Berth benchmark plugin",
    hostRange: "^0.1.0",
    compatibilityDate: "2026-11-01",
    main: "index.js",
    modules: { "index.js": { sha256: options.sha256, size: options.size } },
  };
  if (options.subscriptions === "both") {
    manifest["hooks"] = {
      "ticket.beforeCreate": { entrypoint: HOOKS_ENTRYPOINT, method: "beforeCreate" },
      "ticket.created": { entrypoint: HOOKS_ENTRYPOINT, method: "created" },
    };
  }
  if (options.lifecycle) manifest["lifecycle"] = { entrypoint: LIFECYCLE_ENTRYPOINT, events: ["install", "enable"] };
  return manifest;
}

/** Returns the draft every `ticket.beforeCreate` benchmark sends, about 550 bytes of JSON. */
export function sampleDraft(): { title: string; body: string; tags: string[]; priority: "normal"; requester: string } {
  return {
    title: "Refund for a double charge on invoice 2041",
    body:
      "Hello, my card was charged twice for the March invoice and the second payment shows as pending. " +
      "I tried to sign in to the billing page to download the receipt but the page shows an error after the password step. " +
      "Could you refund the duplicate charge and tell me whether the receipt can be sent by email instead? " +
      "This is not urgent, but I would like it sorted before the next billing cycle. Thanks, Ada",
    tags: ["email", "customer"],
    priority: "normal",
    requester: "ada@example.test",
  };
}

/** Returns the stored ticket every `ticket.created` benchmark sends. */
export function sampleTicket(): Record<string, unknown> {
  return {
    id: "7d3c1a2e-5b8f-4f0a-9a51-3e2b6c9d0f14",
    ...sampleDraft(),
    status: "open",
    createdAt: "2026-11-01T10:00:00.000Z",
    updatedAt: "2026-11-01T10:00:00.000Z",
  };
}
