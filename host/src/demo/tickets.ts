/**
 * The help desk's ticket shapes. These schemas are also the payload schemas of
 * the help desk's hook points, so plugins see exactly these fields.
 *
 * @module
 */
import * as v from "valibot";

/** Tags: short lower-case words such as `billing` or `bug`. */
export const tagSchema = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be a lower-case tag of at most 32 characters"));

/** Ticket priorities, lowest first. */
export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;

/** A ticket before it is created: what a requester submits, and what `ticket.beforeCreate` filters. */
export const ticketDraftSchema = v.strictObject({
  title: v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200)),
  body: v.optional(v.pipe(v.string(), v.maxLength(5_000)), ""),
  tags: v.optional(v.pipe(v.array(tagSchema), v.maxLength(20)), []),
  priority: v.optional(v.picklist(PRIORITIES, `must be one of ${PRIORITIES.join(", ")}`), "normal"),
  requester: v.optional(v.pipe(v.string(), v.maxLength(254))),
});

/** A ticket draft. */
export type TicketDraft = v.InferOutput<typeof ticketDraftSchema>;

/** A stored ticket. */
export const ticketSchema = v.strictObject({
  id: v.string(),
  title: v.string(),
  body: v.string(),
  tags: v.array(v.string()),
  priority: v.picklist(PRIORITIES),
  requester: v.optional(v.string()),
  status: v.picklist(["open", "closed"]),
  createdAt: v.string(),
  updatedAt: v.string(),
  closedAt: v.optional(v.string()),
  closeReason: v.optional(v.string()),
});

/** A stored ticket. */
export type Ticket = v.InferOutput<typeof ticketSchema>;

/** The body of a close request. */
export const closeRequestSchema = v.strictObject({
  reason: v.optional(v.pipe(v.string(), v.maxLength(500))),
});

/** A panel a plugin contributes to a ticket's page. */
export const panelSchema = v.strictObject({
  title: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  body: v.pipe(v.string(), v.maxLength(2_000)),
});
