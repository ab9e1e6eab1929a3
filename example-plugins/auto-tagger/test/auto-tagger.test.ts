import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, install, publish, uniqueTenant } from "../../../host/test/helpers/api.ts";

const PLUGIN = "auto-tagger";

/** Installs the auto-tagger with storage granted in a new tenant and returns the tenant. */
async function installTagger(config?: Record<string, unknown>): Promise<string> {
  const tenant = uniqueTenant("tagger");
  await install(tenant, { name: PLUGIN, grants: { storage: {} }, ...(config === undefined ? {} : { config }) });
  return tenant;
}

describe("auto-tagger", () => {
  beforeAll(async () => {
    await publish(env.EXAMPLE_PACKAGES[PLUGIN]);
  });

  it("tags a ticket by a default rule", async () => {
    const tenant = await installTagger();

    const created = await createTicket(tenant, { title: "Invoice is wrong", body: "The total is off by one cent." });

    expect(created.status).toBe(201);
    expect(created.body.hooks.beforeCreate).toEqual([expect.objectContaining({ plugin: PLUGIN, version: "1.0.0", status: "ok" })]);
    const stored = await api("GET", `/v1/tenants/${tenant}/tickets/${created.body.ticket.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body.ticket.tags).toEqual(["billing"]);
    expect(stored.body.ticket.priority).toBe("normal");
  });

  it("matches keywords in the body, ignoring case", async () => {
    const tenant = await installTagger();

    const created = await createTicket(tenant, { title: "Checkout broken", body: "Payment page shows an ERROR after a REFUND." });

    expect(created.body.ticket.tags).toEqual(["billing", "bug"]);
  });

  it("raises priority when a rule adds urgent", async () => {
    const tenant = await installTagger();

    const created = await createTicket(tenant, { title: "Urgent: app crash on login", priority: "low" });

    expect(created.body.ticket.tags).toEqual(["bug", "urgent"]);
    expect(created.body.ticket.priority).toBe("urgent");
  });

  it("keeps the requester's tags without duplicates", async () => {
    const tenant = await installTagger();

    const created = await createTicket(tenant, { title: "Refund for invoice 42", tags: ["vip", "billing"] });

    expect(created.body.ticket.tags).toEqual(["vip", "billing"]);
    expect(created.body.ticket.priority).toBe("normal");
  });

  it("leaves a ticket without matches unchanged", async () => {
    const tenant = await installTagger();

    const created = await createTicket(tenant, { title: "How do I change my password?" });

    expect(created.body.ticket.tags).toEqual([]);
    expect(created.body.ticket.priority).toBe("normal");
  });

  it("uses rules from the install config", async () => {
    const tenant = await installTagger({ rules: ["printer=hardware", "Invoice = finance"] });

    const created = await createTicket(tenant, { title: "Printer jams on every invoice" });

    expect(created.body.ticket.tags).toEqual(["hardware", "finance"]);
  });

  it("applies rules changed by a config change", async () => {
    const tenant = await installTagger();
    const before = await createTicket(tenant, { title: "Invoice is wrong" });
    expect(before.body.ticket.tags).toEqual(["billing"]);

    const patched = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { config: { rules: ["invoice=finance"] } });
    const after = await createTicket(tenant, { title: "Invoice is wrong again", body: "A crash, too." });

    expect(patched.status).toBe(200);
    expect(patched.body.installation.config).toEqual({ rules: ["invoice=finance"] });
    expect(after.body.ticket.tags).toEqual(["finance"]);
  });

  it("rejects a malformed rule at install", async () => {
    const tenant = uniqueTenant("tagger");

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, {
      name: PLUGIN,
      grants: { storage: {} },
      config: { rules: ["invoice=billing", "invoice"] },
    });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(response.body.error.message).toContain('"invoice"');
    expect(response.body.error.message).toContain("keyword=tag");
    const installation = await api("GET", `/v1/tenants/${tenant}/installations/${PLUGIN}`);
    expect(installation.status).toBe(404);
  });

  it("keeps the old rules after a rejected config change", async () => {
    const tenant = await installTagger();

    const patched = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { config: { rules: ["invoice=Billing Team"] } });
    const created = await createTicket(tenant, { title: "Invoice is wrong" });

    expect(patched.status).toBe(422);
    expect(patched.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(patched.body.error.message).toContain("the tag must be");
    expect(created.body.ticket.tags).toEqual(["billing"]);
  });

  it("logs how many rules it stored", async () => {
    const tenant = await installTagger({ rules: ["a=one", "b=two", "a=one"] });

    const messages = await waitForLog(tenant, "install: stored 2 tagging rules");

    expect(messages).toContain("install: stored 2 tagging rules");
  });
});

/**
 * Polls the installation's log until a line contains `text`, for at most 2 s,
 * because console output reaches the log through a tail after the call returns.
 * Returns the messages of the last poll.
 */
async function waitForLog(tenant: string, text: string): Promise<string[]> {
  let messages: string[] = [];
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const response = await api("GET", `/v1/tenants/${tenant}/installations/${PLUGIN}/logs`);
    messages = response.body.logs.map((line: { message: string }) => line.message);
    if (messages.some((message) => message.includes(text))) return messages;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return messages;
}
