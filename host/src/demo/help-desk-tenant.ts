/**
 * The help desk's tenant Durable Object: the framework's installations and
 * dispatch, plus this tenant's tickets and the demo webhook inbox.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";

import {
  TenantObject,
  toResult,
  type BerthEnv,
  type CapabilityProps,
  type CollectOutcome,
  type DecisionOutcome,
  type EventOutcome,
  type FilterOutcome,
  type Result,
} from "../framework/index.ts";
import { ticketBeforeClose, ticketBeforeCreate, ticketCreated, ticketPanels } from "./hook-points.ts";
import { helpDesk } from "./host.ts";
import type { Ticket, TicketDraft } from "./tickets.ts";

/** Most requests the demo inbox keeps per tenant. */
const INBOX_SIZE = 50;

/** A ticket with what its plugins did on creation. */
export interface CreatedTicket {
  ticket: Ticket;
  hooks: { beforeCreate: FilterOutcome<TicketDraft>["calls"]; created: EventOutcome["calls"] };
}

/** One request the demo inbox received. */
export interface InboxEntry {
  at: string;
  plugin: string;
  method: string;
  url: string;
  contentType: string | null;
  body: string;
}

type TicketRow = { id: string; data: string; status: string; created_at: number };

/** The help desk's Durable Object, one per tenant. */
export class HelpDeskTenant extends TenantObject<BerthEnv> {
  protected readonly host = helpDesk;

  constructor(ctx: DurableObjectState, env: BerthEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS tickets (
      id TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS demo_inbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      data TEXT NOT NULL
    )`);
  }

  /**
   * Creates a ticket: `ticket.beforeCreate` filters the draft, the ticket is
   * stored, then `ticket.created` is dispatched and awaited so its outcome can be
   * returned. A failing plugin never stops the ticket.
   */
  async createTicket(draft: TicketDraft, options: { depth?: number } = {}): Promise<CreatedTicket> {
    const depth = options.depth ?? 0;
    const filtered = await this.dispatch(ticketBeforeCreate, draft, { depth });

    const now = new Date().toISOString();
    const ticket: Ticket = { id: crypto.randomUUID(), ...filtered.value, status: "open", createdAt: now, updatedAt: now };
    this.#save(ticket);

    const created = await this.dispatch(ticketCreated, ticket, { depth });
    return { ticket, hooks: { beforeCreate: filtered.calls, created: created.calls } };
  }

  async listTickets(status?: "open" | "closed"): Promise<Ticket[]> {
    const rows =
      status === undefined
        ? this.ctx.storage.sql.exec<TicketRow>("SELECT * FROM tickets ORDER BY created_at DESC, id").toArray()
        : this.ctx.storage.sql.exec<TicketRow>("SELECT * FROM tickets WHERE status = ? ORDER BY created_at DESC, id", status).toArray();
    return rows.map((row) => JSON.parse(row.data) as Ticket);
  }

  /** Returns a ticket with the panels plugins contribute. Raises `ERR_NOT_FOUND`. */
  async showTicket(id: string): Promise<Result<{ ticket: Ticket; panels: CollectOutcome<{ title: string; body: string }>["items"] }>> {
    return toResult(async () => {
      const ticket = this.#require(id);
      const panels = await this.dispatch(ticketPanels, ticket);
      return { ticket, panels: panels.items };
    });
  }

  /** Closes a ticket unless a plugin refuses through `ticket.beforeClose`. */
  async closeTicket(id: string, reason: string | undefined): Promise<Result<{ ticket: Ticket; decision: DecisionOutcome }>> {
    return toResult(async () => {
      const ticket = this.#require(id);
      if (ticket.status === "closed") return { ticket, decision: { allowed: true, refusals: [], calls: [] } };

      const payload = reason === undefined ? { ticket } : { ticket, reason };
      const decision = await this.dispatch(ticketBeforeClose, payload);
      if (!decision.allowed) return { ticket, decision };

      const now = new Date().toISOString();
      const closed: Ticket = { ...ticket, status: "closed", updatedAt: now, closedAt: now };
      if (reason !== undefined) closed.closeReason = reason;
      this.#save(closed);
      return { ticket: closed, decision };
    });
  }

  // ---- The tickets:read capability ------------------------------------------------

  /** Lists tickets for a plugin holding `tickets:read`. */
  async readTickets(props: CapabilityProps, status?: "open" | "closed"): Promise<Result<Ticket[]>> {
    return toResult(async () => {
      this.authorize(props, "tickets:read");
      return this.listTickets(status);
    });
  }

  /** Returns one ticket, or null, for a plugin holding `tickets:read`. */
  async readTicket(props: CapabilityProps, id: string): Promise<Result<Ticket | null>> {
    return toResult(async () => {
      this.authorize(props, "tickets:read");
      return this.#find(id) ?? null;
    });
  }

  // ---- The tickets:write capability -----------------------------------------------

  /**
   * Creates a ticket for a plugin holding `tickets:write`. The ticket hooks run
   * again, one level deeper than the plugin's own call; past the host's maximum
   * depth this raises `ERR_HOOK_DEPTH_EXCEEDED`, so a plugin cannot trigger itself forever.
   */
  async writeTicket(props: CapabilityProps, draft: TicketDraft): Promise<Result<Ticket>> {
    return toResult(async () => {
      this.authorize(props, "tickets:write");
      const created = await this.createTicket(draft, { depth: this.callerDepth(props) });
      return created.ticket;
    });
  }

  // ---- The demo inbox ---------------------------------------------------------------

  /**
   * Stores a request the installation behind `props` sent to a `*.example.test`
   * host, with its secret config values masked in the URL and the body, because
   * the inbox is shown to tenant admins, who never see secrets.
   */
  async receiveInbox(props: CapabilityProps, entry: InboxEntry): Promise<void> {
    const masked = { ...entry, url: this.store.maskSecrets(props.installation, entry.url), body: this.store.maskSecrets(props.installation, entry.body) };
    this.ctx.storage.sql.exec("INSERT INTO demo_inbox (data) VALUES (?)", JSON.stringify(masked));
    this.ctx.storage.sql.exec("DELETE FROM demo_inbox WHERE seq <= (SELECT seq FROM demo_inbox ORDER BY seq DESC LIMIT 1 OFFSET ?)", INBOX_SIZE);
  }

  async listInbox(): Promise<InboxEntry[]> {
    return this.ctx.storage.sql
      .exec<{ data: string }>("SELECT data FROM demo_inbox ORDER BY seq DESC")
      .toArray()
      .map((row) => JSON.parse(row.data) as InboxEntry);
  }

  #find(id: string): Ticket | undefined {
    const row = this.ctx.storage.sql.exec<TicketRow>("SELECT * FROM tickets WHERE id = ?", id).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.data) as Ticket);
  }

  #require(id: string): Ticket {
    const ticket = this.#find(id);
    if (ticket === undefined) throw new BerthError("ERR_NOT_FOUND", `no ticket with ID ${JSON.stringify(id.slice(0, 64))} in this tenant`, { path: "params.id" });
    return ticket;
  }

  #save(ticket: Ticket): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO tickets VALUES (?, ?, ?, ?)",
      ticket.id,
      JSON.stringify(ticket),
      ticket.status,
      Date.parse(ticket.createdAt),
    );
  }
}
