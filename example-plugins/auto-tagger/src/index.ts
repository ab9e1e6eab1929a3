/**
 * auto-tagger: adds tags to new tickets by keyword, and raises a ticket's
 * priority to `urgent` when one of its rules adds the tag `urgent`.
 *
 * The rules come from the `rules` config field as `keyword=tag` entries. The
 * install, configure and upgrade lifecycle hooks parse them and store one storage
 * entry per rule, so a malformed rule fails that admin request with a message
 * naming the entry, and the `ticket.beforeCreate` filter only reads storage.
 *
 * @module
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { HookContext, LifecycleContext, PluginEnv, StorageBinding } from "@berth/plugin-sdk";

/** The config fields declared in berth.json. */
export interface AutoTaggerConfig {
  /** `keyword=tag` entries; the manifest's default applies when the tenant sets none. */
  rules: string[];
}

type Env = PluginEnv<AutoTaggerConfig>;

/** A new ticket as the help desk's `ticket.beforeCreate` hook point passes it. */
export interface TicketDraft {
  title: string;
  body: string;
  tags: string[];
  priority: "low" | "normal" | "high" | "urgent";
  requester?: string;
}

/** One tagging rule: a ticket whose title or body contains `keyword` gets `tag`. */
export interface Rule {
  /** Lower-case text matched anywhere in the title or body. */
  keyword: string;
  tag: string;
}

/** Storage key prefix of the stored rules; keys are `rule:0000`, `rule:0001`, ... in config order. */
const RULE_PREFIX = "rule:";

/** Maximum rules per installation, because one storage list call returns at most 1000 entries. */
const MAX_RULES = 1000;

/** The help desk's tag pattern: a tag outside it would make the filter's result invalid. */
const TAG_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The help desk's maximum number of tags on one ticket. */
const MAX_TAGS = 20;

/** Maximum keyword length, in characters. */
const MAX_KEYWORD_LENGTH = 100;

/** The tag that also raises a ticket's priority to `urgent`. */
const URGENT_TAG = "urgent";

/**
 * Parses one `keyword=tag` entry. The keyword is trimmed and lower-cased. Raises
 * an `Error` naming the entry when it has no `=`, an empty or over-long keyword,
 * or a tag outside the help desk's tag pattern.
 */
function parseRule(entry: string): Rule {
  const separator = entry.indexOf("=");
  if (separator === -1) {
    throw new Error(`config.rules entry ${JSON.stringify(entry)} is invalid: write it as keyword=tag, such as invoice=billing`);
  }

  const keyword = entry.slice(0, separator).trim().toLowerCase();
  const tag = entry.slice(separator + 1).trim();
  if (keyword.length === 0 || keyword.length > MAX_KEYWORD_LENGTH) {
    throw new Error(`config.rules entry ${JSON.stringify(entry)} is invalid: the keyword must be 1 to ${MAX_KEYWORD_LENGTH} characters`);
  }
  if (!TAG_PATTERN.test(tag)) {
    throw new Error(
      `config.rules entry ${JSON.stringify(entry)} is invalid: the tag must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit`,
    );
  }
  return { keyword, tag };
}

/**
 * Returns the draft with the tags of every matching rule appended, in rule order,
 * skipping tags it already has and stopping at the help desk's tag limit. When a
 * rule adds the `urgent` tag, the priority becomes `urgent` too.
 */
function applyRules(draft: TicketDraft, rules: readonly Rule[]): TicketDraft {
  const text = `${draft.title}\n${draft.body}`.toLowerCase();
  const tags = [...draft.tags];
  let addedUrgent = false;

  for (const rule of rules) {
    if (tags.length >= MAX_TAGS) break;
    if (!text.includes(rule.keyword) || tags.includes(rule.tag)) continue;
    tags.push(rule.tag);
    if (rule.tag === URGENT_TAG) addedUrgent = true;
  }

  return addedUrgent ? { ...draft, tags, priority: "urgent" } : { ...draft, tags };
}

/** The `ticket.beforeCreate` filter. */
export class AutoTagger extends WorkerEntrypoint<Env> {
  /** Returns the draft with the tags of the stored rules applied. */
  async tagDraft(draft: TicketDraft, _context: HookContext): Promise<TicketDraft> {
    const entries = await requireStorage(this.env).list<Rule>({ prefix: RULE_PREFIX });
    return applyRules(draft, entries.map((entry) => entry.value));
  }
}

/** The lifecycle entrypoint: each handled event stores the rules of the current config. */
export class Lifecycle extends WorkerEntrypoint<Env> {
  async install(context: LifecycleContext): Promise<void> {
    await this.#storeRules(context);
  }

  async configure(context: LifecycleContext): Promise<void> {
    await this.#storeRules(context);
  }

  /** A new version may store rules differently, so an upgrade stores them again. */
  async upgrade(context: LifecycleContext): Promise<void> {
    await this.#storeRules(context);
  }

  async #storeRules(context: LifecycleContext): Promise<void> {
    const storage = requireStorage(this.env);

    // Parse every entry before writing, so an invalid config leaves the stored rules as they were.
    const rules = dedupe(this.env.CONFIG.rules.map(parseRule));
    if (rules.length > MAX_RULES) throw new Error(`config.rules has ${rules.length} rules; at most ${MAX_RULES} are allowed`);

    for (const [index, rule] of rules.entries()) await storage.put(ruleKey(index), rule);
    const stored = await storage.list({ prefix: RULE_PREFIX });
    for (const entry of stored.slice(rules.length)) await storage.delete(entry.key);

    console.log(`${context.event}: stored ${rules.length} tagging rules`);
  }
}

function ruleKey(index: number): string {
  return `${RULE_PREFIX}${String(index).padStart(4, "0")}`;
}

function dedupe(rules: Rule[]): Rule[] {
  const seen = new Set<string>();
  return rules.filter((rule) => {
    const id = `${rule.keyword}=${rule.tag}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function requireStorage(env: Env): StorageBinding {
  if (env.STORAGE === undefined) throw new Error("auto-tagger needs the storage capability; grant storage to install it");
  return env.STORAGE;
}
