import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, install, publish, uniqueTenant } from "../../../host/test/helpers/api.ts";

const PLUGIN = "close-guard";

/** Installs the close guard in a new tenant, creates one ticket there and returns both. */
async function setUp(priority: string, config?: Record<string, unknown>): Promise<{ tenant: string; id: string }> {
  const tenant = uniqueTenant("guard");
  await install(tenant, { name: PLUGIN, ...(config === undefined ? {} : { config }) });
  const created = await createTicket(tenant, { title: "Database is down", priority });
  expect(created.status).toBe(201);
  return { tenant, id: created.body.ticket.id };
}

function close(tenant: string, id: string, body: Record<string, unknown> = {}) {
  return api("POST", `/v1/tenants/${tenant}/tickets/${id}/close`, body);
}

describe("close-guard", () => {
  beforeAll(async () => {
    await publish(env.EXAMPLE_PACKAGES[PLUGIN]);
  });

  it("refuses closing an urgent ticket without a reason", async () => {
    const { tenant, id } = await setUp("urgent");

    const response = await close(tenant, id);

    expect(response.status).toBe(409);
    expect(response.body.decision.allowed).toBe(false);
    expect(response.body.decision.refusals).toEqual([
      { plugin: PLUGIN, reason: "closing an urgent ticket needs a reason of at least 10 characters; none was given" },
    ]);
    expect(response.body.ticket.status).toBe("open");
    const stored = await api("GET", `/v1/tenants/${tenant}/tickets/${id}`);
    expect(stored.body.ticket.status).toBe("open");
  });

  it("refuses a reason that is too short", async () => {
    const { tenant, id } = await setUp("urgent");

    const response = await close(tenant, id, { reason: "   fixed   " });

    expect(response.status).toBe(409);
    expect(response.body.decision.refusals[0].plugin).toBe(PLUGIN);
    expect(response.body.decision.refusals[0].reason).toContain("this one has 5");
  });

  it("closes an urgent ticket with a long reason", async () => {
    const { tenant, id } = await setUp("urgent");

    const response = await close(tenant, id, { reason: "Restarted the primary database" });

    expect(response.status).toBe(200);
    expect(response.body.decision.allowed).toBe(true);
    expect(response.body.ticket.status).toBe("closed");
    expect(response.body.ticket.closeReason).toBe("Restarted the primary database");
    const stored = await api("GET", `/v1/tenants/${tenant}/tickets/${id}`);
    expect(stored.body.ticket.status).toBe("closed");
  });

  it("accepts a reason of exactly the minimum", async () => {
    const { tenant, id } = await setUp("urgent");

    const response = await close(tenant, id, { reason: "0123456789" });

    expect(response.status).toBe(200);
    expect(response.body.ticket.status).toBe("closed");
  });

  it("lets other priorities close without a reason", async () => {
    for (const priority of ["low", "normal", "high"]) {
      const { tenant, id } = await setUp(priority);

      const response = await close(tenant, id);

      expect(response.status, priority).toBe(200);
      expect(response.body.ticket.status, priority).toBe("closed");
    }
  });

  it("uses minReasonLength from the config", async () => {
    const { tenant, id } = await setUp("urgent", { minReasonLength: 40 });

    const refused = await close(tenant, id, { reason: "Restarted the primary database" });
    const allowed = await close(tenant, id, { reason: "Restarted the primary database after the disk filled up" });

    expect(refused.status).toBe(409);
    expect(refused.body.decision.refusals[0].reason).toContain("at least 40 characters; this one has 30");
    expect(allowed.status).toBe(200);
  });

  it("applies a changed minReasonLength", async () => {
    const { tenant, id } = await setUp("urgent");

    const patched = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { config: { minReasonLength: 0 } });
    const response = await close(tenant, id);

    expect(patched.status).toBe(200);
    expect(response.status).toBe(200);
  });

  it("rejects a minReasonLength out of range", async () => {
    for (const minReasonLength of [-1, 2.5, 501]) {
      const tenant = uniqueTenant("guard");

      const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, config: { minReasonLength } });

      expect(response.status, String(minReasonLength)).toBe(422);
      expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
      expect(response.body.error.message).toContain(`config.minReasonLength must be a whole number from 0 to 500, not ${minReasonLength}`);
    }
  });
});
