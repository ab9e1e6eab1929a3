import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, install, makePackage, publish, uniqueTenant } from "../../../host/test/helpers/api.ts";

const PLUGIN = "audit-trail";

/** Installs the audit trail with storage granted in a new tenant and returns the tenant. */
async function installAudit(): Promise<string> {
  const tenant = uniqueTenant("audit");
  await install(tenant, { name: PLUGIN, grants: { storage: {} } });
  return tenant;
}

/** Returns the audit panels shown with a ticket. */
async function auditPanels(tenant: string, id: string): Promise<{ title: string; body: string }[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/tickets/${id}`);
  expect(response.status).toBe(200);
  return response.body.panels
    .filter((panel: { plugin: string }) => panel.plugin === PLUGIN)
    .map((panel: { item: { title: string; body: string } }) => panel.item);
}

/**
 * Polls the installation's log until `done` accepts its messages, for at most
 * 2 s, because console output reaches the log through a tail after the call
 * returns. Returns the messages of the last poll.
 */
async function waitForLog(tenant: string, done: (messages: string[]) => boolean, plugin = PLUGIN): Promise<string[]> {
  let messages: string[] = [];
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const response = await api("GET", `/v1/tenants/${tenant}/installations/${plugin}/logs`);
    messages = response.body.logs.map((line: { message: string }) => line.message);
    if (done(messages)) return messages;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return messages;
}

/** Returns a `waitForLog` condition: some message starts with `prefix`. */
function hasLine(prefix: string): (messages: string[]) => boolean {
  return (messages) => messages.some((message) => message.startsWith(prefix));
}

describe("audit-trail", () => {
  beforeAll(async () => {
    await publish(env.EXAMPLE_PACKAGES[PLUGIN]);
  });

  it("shows a ticket.created record in the panel", async () => {
    const tenant = await installAudit();
    const created = await createTicket(tenant, { title: "Printer on fire", tags: ["hardware"], priority: "high" });
    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toEqual([expect.objectContaining({ plugin: PLUGIN, version: "1.0.0", status: "ok" })]);
    const id = created.body.ticket.id;

    const panels = await auditPanels(tenant, id);

    expect(panels).toHaveLength(1);
    expect(panels[0]?.title).toBe("Audit trail");
    expect(panels[0]?.body).toContain("ticket.created");
    expect(panels[0]?.body).toContain(`ticket ${id} created: "Printer on fire", priority high, tags hardware`);
  });

  it("lists only the records of that ticket", async () => {
    const tenant = await installAudit();
    const first = await createTicket(tenant, { title: "First" });
    const second = await createTicket(tenant, { title: "Second" });

    const panels = await auditPanels(tenant, first.body.ticket.id);

    expect(panels[0]?.body).toContain(first.body.ticket.id);
    expect(panels[0]?.body).not.toContain(second.body.ticket.id);
    expect(panels[0]?.body.split("\n")).toHaveLength(1);
  });

  it("shows an empty panel for a ticket made before install", async () => {
    const tenant = uniqueTenant("audit");
    const created = await createTicket(tenant, { title: "Older than the plugin" });
    await install(tenant, { name: PLUGIN, grants: { storage: {} } });

    const panels = await auditPanels(tenant, created.body.ticket.id);

    expect(panels).toEqual([{ title: "Audit trail", body: "No audit records for this ticket." }]);
  });

  it("logs the install record", async () => {
    const tenant = await installAudit();

    const messages = await waitForLog(tenant, hasLine("audit enable:"));

    expect(messages).toContain(`audit install: installed ${PLUGIN}@1.0.0 in tenant ${tenant}`);
    expect(messages).toContain(`audit enable: enabled ${PLUGIN}@1.0.0`);
  });

  it("logs disable and enable records", async () => {
    const tenant = await installAudit();

    const disabled = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { state: "disabled" });
    const enabled = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { state: "enabled" });
    const enableLine = `audit enable: enabled ${PLUGIN}@1.0.0`;
    const messages = await waitForLog(tenant, (lines) => lines.filter((line) => line === enableLine).length >= 2);

    expect(disabled.status).toBe(200);
    expect(enabled.status).toBe(200);
    const audit = messages.filter((message) => message.startsWith("audit "));
    expect(audit).toEqual([
      `audit install: installed ${PLUGIN}@1.0.0 in tenant ${tenant}`,
      enableLine,
      `audit disable: disabled ${PLUGIN}@1.0.0`,
      enableLine,
    ]);
  });

  it("logs each new ticket", async () => {
    const tenant = await installAudit();
    const created = await createTicket(tenant, { title: "Logged" });

    const messages = await waitForLog(tenant, hasLine("audit ticket.created:"));

    expect(messages).toContain(`audit ticket.created: ticket ${created.body.ticket.id} created: "Logged", priority normal, no tags`);
  });

  it("keeps only the newest 200 records", async () => {
    const tenant = await installAudit();
    const first = await createTicket(tenant, { title: "Oldest" });
    // Install, enable and the first ticket wrote the 3 oldest records; 200 newer ones push them out.
    let last = first;
    for (let count = 0; count < 200; count += 1) last = await createTicket(tenant, { title: `Ticket ${count}` });

    const oldest = await auditPanels(tenant, first.body.ticket.id);
    const newest = await auditPanels(tenant, last.body.ticket.id);

    expect(oldest).toEqual([{ title: "Audit trail", body: "No audit records for this ticket." }]);
    expect(newest[0]?.body).toContain(last.body.ticket.id);
  });

  it("records an upgrade with the previous version", async () => {
    // The development key is not available here, so the same code is republished
    // under another name by the trusted test publisher, in two versions.
    const example = env.EXAMPLE_PACKAGES[PLUGIN];
    if (example === undefined) throw new Error(`the test setup built no ${PLUGIN} package`);
    const { manifest } = decodeJwt(example.manifest) as { manifest: Record<string, unknown> };
    const copy = { capabilities: manifest["capabilities"], hooks: manifest["hooks"], lifecycle: manifest["lifecycle"] } as object;
    const source = example.modules["index.js"] ?? "";
    const name = "audit-trail-upgrade";
    await publish(await makePackage({ ...copy, name, version: "1.0.0", source }));
    await publish(await makePackage({ ...copy, name, version: "1.1.0", source }));
    const tenant = uniqueTenant("audit");
    await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });

    const upgraded = await api("PATCH", `/v1/tenants/${tenant}/installations/${name}`, { version: "1.1.0" });
    const messages = await waitForLog(tenant, hasLine("audit upgrade:"), name);

    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation.version).toBe("1.1.0");
    expect(messages).toContain(`audit upgrade: upgraded ${name} from 1.0.0 to 1.1.0`);
  });

  it("records nothing while disabled", async () => {
    const tenant = await installAudit();
    await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { state: "disabled" });
    const created = await createTicket(tenant, { title: "Unseen" });
    await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { state: "enabled" });

    const panels = await auditPanels(tenant, created.body.ticket.id);

    expect(created.body.hooks.created).toEqual([]);
    expect(panels).toEqual([{ title: "Audit trail", body: "No audit records for this ticket." }]);
  });
});
