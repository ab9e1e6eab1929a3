/**
 * The help desk's host definition: its version, hook points, app capabilities and
 * the development publisher key it trusts out of the box.
 *
 * @module
 */
import authKeys from "../../../manifests/keys/auth-keys.json";
import trustedKeys from "../../../manifests/keys/trusted-keys.json";
import type { JSONWebKeySet } from "jose";

import packageJson from "../../package.json";
import { defineCapability, defineHost } from "../framework/index.ts";
import { hookPoints } from "./hook-points.ts";

/** The `tickets:read` capability: read this tenant's tickets. */
export const ticketsRead = defineCapability({
  name: "tickets:read",
  description: "Read the tickets of this tenant: titles, bodies, tags, status.",
  entrypoint: "TicketsRead",
});

/** The `tickets:write` capability: create tickets in this tenant. */
export const ticketsWrite = defineCapability({
  name: "tickets:write",
  description: "Create tickets in this tenant. Tickets it creates run the ticket hooks of every plugin again.",
  entrypoint: "TicketsWrite",
});

/** The help desk host. */
export const helpDesk = defineHost({
  version: packageJson.version,
  // The newest date the bundled workerd (1.20261103 and later) supports.
  maxCompatibilityDate: "2026-11-01",
  hookPoints,
  capabilities: [ticketsRead, ticketsWrite],
  trustedKeys,
  // Development only: tokens signed with manifests/keys/auth.DEVELOPMENT-ONLY.private.json.
  authKeys: authKeys as JSONWebKeySet,
  entrypoints: { egress: "DemoEgress" },
});
