/**
 * The help desk's own routes, beside the framework's under `/v1/tenants/:tenant/`.
 *
 * @module
 */
import type { IRequest } from "itty-router";
import * as v from "valibot";

import { MAX_BODY_BYTES, jsonResponse, parseInput, pathParam, readJson, readOptionalJson, tenantParam, tenantStub, unwrap, type ApiRouter, type BerthEnv } from "../framework/index.ts";
import type { HelpDeskTenant } from "./help-desk-tenant.ts";
import { closeRequestSchema, ticketDraftSchema } from "./tickets.ts";

const ticketId = v.pipe(v.string(), v.uuid("must be a ticket ID"));
const listQuery = v.strictObject({ status: v.optional(v.picklist(["open", "closed"], "must be open or closed")) });

/** Registers the ticket and inbox routes. */
export function registerTicketRoutes(router: ApiRouter): void {
  const tenantOf = (request: IRequest, env: BerthEnv) => tenantStub<HelpDeskTenant>(env, tenantParam(request));

  router.get("/tenants/:tenant/tickets", async (request, env) => {
    const { status } = parseInput(listQuery, { ...request.query }, "query");
    return jsonResponse({ tickets: await tenantOf(request, env).listTickets(status) });
  });

  router.post("/tenants/:tenant/tickets", async (request, env) => {
    const stub = tenantOf(request, env);
    const draft = parseInput(ticketDraftSchema, await readJson(request, MAX_BODY_BYTES), "body");
    return jsonResponse(await stub.createTicket(draft), 201);
  });

  router.get("/tenants/:tenant/tickets/:id", async (request, env) => {
    const stub = tenantOf(request, env);
    const id = parseInput(ticketId, pathParam(request, "id"), "params.id");
    return jsonResponse(unwrap(await stub.showTicket(id)));
  });

  router.post("/tenants/:tenant/tickets/:id/close", async (request, env) => {
    const stub = tenantOf(request, env);
    const id = parseInput(ticketId, pathParam(request, "id"), "params.id");
    // The reason is optional, so an empty body means no reason.
    const body = parseInput(closeRequestSchema, await readOptionalJson(request, MAX_BODY_BYTES), "body");
    const result = unwrap(await stub.closeTicket(id, body.reason));
    return jsonResponse(result, result.decision.allowed ? 200 : 409);
  });

  router.get("/tenants/:tenant/inbox", async (request, env) => jsonResponse({ requests: await tenantOf(request, env).listInbox() }));
}
