/**
 * The help desk's capability entrypoints: `tickets:read`, and an egress that
 * delivers requests to `*.example.test` hosts into the tenant's demo inbox.
 *
 * @module
 */
import { issueToError } from "@berth/plugin-sdk/package";
import * as v from "valibot";

import { BerthEgress, CapabilityEntrypoint, tenantStub, toPluginError, type CapabilityProps } from "../framework/index.ts";
import type { HelpDeskTenant } from "./help-desk-tenant.ts";
import { ticketDraftSchema, type Ticket } from "./tickets.ts";

/** Largest request body the demo inbox keeps, in characters. */
const INBOX_BODY_LIMIT = 4_000;

/** The `tickets:read` capability binding (`env.TICKETS_READ` in a plugin). */
export class TicketsRead extends CapabilityEntrypoint {
  protected readonly capability = "tickets:read";

  async list(options: { status?: "open" | "closed" } = {}): Promise<Ticket[]> {
    const status = options.status === "open" || options.status === "closed" ? options.status : undefined;
    return this.run((props) => tenantStub<HelpDeskTenant>(this.env, props.tenant).readTickets(props, status));
  }

  async get(id: string): Promise<Ticket | null> {
    return this.run((props) => tenantStub<HelpDeskTenant>(this.env, props.tenant).readTicket(props, String(id)));
  }
}

/** The `tickets:write` capability binding (`env.TICKETS_WRITE` in a plugin). */
export class TicketsWrite extends CapabilityEntrypoint {
  protected readonly capability = "tickets:write";

  /** Creates a ticket from a draft `{ title, body?, tags?, priority? }` and returns it. */
  async create(draft: unknown): Promise<Ticket> {
    const parsed = v.safeParse(ticketDraftSchema, draft);
    if (!parsed.success) throw toPluginError(issueToError(parsed.issues, { code: "ERR_REQUEST_INVALID", prefix: "draft" }));
    return this.run((props) => tenantStub<HelpDeskTenant>(this.env, props.tenant).writeTicket(props, parsed.output));
  }
}

/**
 * The demo's egress. Allowed requests to `*.example.test` (a reserved name that
 * never resolves) land in the tenant's demo inbox, so the webhook notifier can be
 * watched without internet access; every other allowed request goes out.
 */
export class DemoEgress extends BerthEgress {
  protected override async upstream(request: Request, props: CapabilityProps): Promise<Response> {
    const url = new URL(request.url);
    if (!url.hostname.endsWith(".example.test")) return fetch(request);

    const body = (await request.text()).slice(0, INBOX_BODY_LIMIT);
    await tenantStub<HelpDeskTenant>(this.env, props.tenant).receiveInbox(props, {
      at: new Date().toISOString(),
      plugin: props.plugin,
      method: request.method,
      url: url.href,
      contentType: request.headers.get("content-type"),
      body,
    });
    return Response.json({ received: true }, { status: 202 });
  }
}
