/**
 * audit-trail: records its own lifecycle events and every new ticket, in storage
 * and in the installation's log, and shows the records about a ticket in an
 * "Audit trail" panel beside it.
 *
 * Records are stored under `record:<ISO time>:<sequence>`, so a storage list
 * returns them oldest first. The newest {@link MAX_RECORDS} are kept.
 *
 * @module
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { HookContext, LifecycleContext, PluginEnv, StorageBinding } from "@berth/plugin-sdk";

type Env = PluginEnv;

/** One audit record, as stored. */
export interface AuditRecord {
  /** ISO 8601 time of the event. */
  at: string;
  /** A lifecycle event (`install`, `enable`, ...) or a hook point (`ticket.created`). */
  event: string;
  detail: string;
  /** The ticket the record is about; absent for lifecycle records. */
  ticketId?: string;
}

/** A stored ticket as the help desk's `ticket.created` and `ticket.panels` hook points pass it. */
export interface Ticket {
  id: string;
  title: string;
  body: string;
  tags: string[];
  priority: "low" | "normal" | "high" | "urgent";
  requester?: string;
  status: "open" | "closed";
  createdAt: string;
  updatedAt: string;
}

/** One item of the help desk's `ticket.panels` collect hook point. */
export interface Panel {
  title: string;
  body: string;
}

const RECORD_PREFIX = "record:";

/** Maximum records kept; every write deletes the oldest beyond this. */
const MAX_RECORDS = 200;

/** The help desk's maximum panel body length, in characters. */
const MAX_PANEL_BODY = 2_000;

/** Maximum entries one storage list call returns. */
const LIST_LIMIT = 1_000;

let sequence = 0;
let isolateTag: string | undefined;

/**
 * Returns the storage key of a new record. The sequence is a counter of this
 * isolate followed by a random 8-hex-digit tag of the isolate, so records of the
 * same millisecond sort in write order within an isolate. Two isolates write the
 * same key only if their tags collide at the same millisecond and count.
 */
function recordKey(at: string): string {
  // Workers forbid random values at global scope, so the tag is made on first use.
  isolateTag ??= crypto.randomUUID().slice(0, 8);
  sequence += 1;
  return `${RECORD_PREFIX}${at}:${String(sequence).padStart(6, "0")}-${isolateTag}`;
}

/** Stores a record, writes it to the log and deletes the oldest records beyond {@link MAX_RECORDS}. */
async function writeRecord(env: Env, record: AuditRecord): Promise<void> {
  const storage = requireStorage(env);
  await storage.put(recordKey(record.at), record);
  console.log(`audit ${record.event}: ${record.detail}`);

  const stored = await storage.list({ prefix: RECORD_PREFIX, limit: LIST_LIMIT });
  for (const entry of stored.slice(0, Math.max(0, stored.length - MAX_RECORDS))) await storage.delete(entry.key);
}

/** The lifecycle entrypoint: each handled event becomes a record. */
export class Lifecycle extends WorkerEntrypoint<Env> {
  async install(context: LifecycleContext): Promise<void> {
    await this.#record(context, `installed ${label(context)} in tenant ${context.tenant}`);
  }

  async enable(context: LifecycleContext): Promise<void> {
    await this.#record(context, `enabled ${label(context)}`);
  }

  async disable(context: LifecycleContext): Promise<void> {
    await this.#record(context, `disabled ${label(context)}`);
  }

  async upgrade(context: LifecycleContext): Promise<void> {
    await this.#record(context, `upgraded ${context.plugin} from ${context.previousVersion ?? "an unknown version"} to ${context.version}`);
  }

  /**
   * Records the uninstall. The demo host purges the installation's storage and
   * log right after this hook, so the record outlives it only where a host keeps them.
   */
  async uninstall(context: LifecycleContext): Promise<void> {
    await this.#record(context, `uninstalling ${label(context)}`);
  }

  async #record(context: LifecycleContext, detail: string): Promise<void> {
    await writeRecord(this.env, { at: new Date().toISOString(), event: context.event, detail });
  }
}

/** The hook entrypoint: `ticket.created` and `ticket.panels`. */
export class AuditHooks extends WorkerEntrypoint<Env> {
  /** Records a new ticket. */
  async recordCreated(ticket: Ticket, context: HookContext): Promise<void> {
    const tags = ticket.tags.length === 0 ? "no tags" : `tags ${ticket.tags.join(", ")}`;
    await writeRecord(this.env, {
      at: new Date().toISOString(),
      event: context.hook,
      detail: `ticket ${ticket.id} created: ${JSON.stringify(ticket.title)}, priority ${ticket.priority}, ${tags}`,
      ticketId: ticket.id,
    });
  }

  /**
   * Returns one "Audit trail" panel listing the records about the ticket, one per
   * line, oldest first. When they do not fit the panel, the oldest are left out.
   */
  async auditPanel(ticket: Ticket, _context: HookContext): Promise<Panel[]> {
    const stored = await requireStorage(this.env).list<AuditRecord>({ prefix: RECORD_PREFIX, limit: LIST_LIMIT });
    const lines = stored
      .map((entry) => entry.value)
      .filter((record) => record.ticketId === ticket.id)
      .map((record) => `${record.at} ${record.event}: ${record.detail}`);

    return [{ title: "Audit trail", body: lines.length === 0 ? "No audit records for this ticket." : newestThatFit(lines, MAX_PANEL_BODY) }];
  }
}

/** Joins the newest lines that fit in `limit` characters; a single line is cut to fit. */
function newestThatFit(lines: string[], limit: number): string {
  const kept: string[] = [];
  let length = 0;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index] ?? "";
    const added = line.length + (kept.length === 0 ? 0 : 1);
    if (length + added > limit) break;
    kept.unshift(line);
    length += added;
  }
  if (kept.length === 0) return (lines[lines.length - 1] ?? "").slice(0, limit);
  return kept.join("\n");
}

function label(context: LifecycleContext): string {
  return `${context.plugin}@${context.version}`;
}

function requireStorage(env: Env): StorageBinding {
  if (env.STORAGE === undefined) throw new Error("audit-trail needs the storage capability; grant storage to install it");
  return env.STORAGE;
}
