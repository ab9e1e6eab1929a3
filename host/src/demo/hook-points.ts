/**
 * The help desk's hook points, one of each kind.
 *
 * @module
 */
import { defineHookPoint } from "../framework/index.ts";
import * as v from "valibot";

import { closeRequestSchema, panelSchema, ticketDraftSchema, ticketSchema } from "./tickets.ts";

/** Plugins may change a new ticket before it is stored, in priority order. */
export const ticketBeforeCreate = defineHookPoint({
  name: "ticket.beforeCreate",
  kind: "filter",
  description: "Change a new ticket before it is stored: add tags, set priority, fix the title.",
  payload: ticketDraftSchema,
  timeoutMs: 1_000,
});

/** Plugins are told of every new ticket. */
export const ticketCreated = defineHookPoint({
  name: "ticket.created",
  kind: "event",
  description: "A ticket was created.",
  payload: ticketSchema,
  timeoutMs: 2_000,
});

/** Any plugin may refuse to close a ticket, with a reason. */
export const ticketBeforeClose = defineHookPoint({
  name: "ticket.beforeClose",
  kind: "decision",
  description: "Allow or refuse closing a ticket; any refusal keeps it open.",
  payload: v.strictObject({ ticket: ticketSchema, reason: closeRequestSchema.entries.reason }),
  timeoutMs: 1_000,
});

/** Plugins contribute panels shown with a ticket. */
export const ticketPanels = defineHookPoint({
  name: "ticket.panels",
  kind: "collect",
  description: "Contribute text panels shown beside a ticket.",
  payload: ticketSchema,
  item: panelSchema,
  timeoutMs: 1_000,
});

/** Every hook point of the help desk. */
export const hookPoints = [ticketBeforeCreate, ticketCreated, ticketBeforeClose, ticketPanels];
