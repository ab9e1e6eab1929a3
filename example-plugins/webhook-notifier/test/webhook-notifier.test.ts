import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, install, publish, uniqueTenant } from "../../../host/test/helpers/api.ts";

const PLUGIN = "webhook-notifier";
const WEBHOOK_URL = "https://hooks.example.test/berth";

/** Installs the notifier with its network request granted in a new tenant and returns the tenant. */
async function installNotifier(url: string): Promise<string> {
  const tenant = uniqueTenant("webhook");
  await install(tenant, { name: PLUGIN, grants: { network: {} }, config: { url } });
  return tenant;
}

async function inbox(tenant: string): Promise<any[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/inbox`);
  expect(response.status).toBe(200);
  return response.body.requests;
}

async function installation(tenant: string): Promise<any> {
  const response = await api("GET", `/v1/tenants/${tenant}/installations/${PLUGIN}`);
  expect(response.status).toBe(200);
  return response.body.installation;
}

describe("webhook-notifier", () => {
  beforeAll(async () => {
    await publish(env.EXAMPLE_PACKAGES[PLUGIN]);
  });

  it("posts a new ticket to the webhook", async () => {
    const tenant = await installNotifier(WEBHOOK_URL);

    const created = await createTicket(tenant, { title: "Printer on fire", tags: ["hardware"], priority: "high" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toEqual([expect.objectContaining({ plugin: PLUGIN, version: "1.0.0", status: "ok" })]);
    const requests = await inbox(tenant);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ plugin: PLUGIN, method: "POST", url: WEBHOOK_URL, contentType: "application/json" });
    const ticket = created.body.ticket;
    expect(JSON.parse(requests[0].body)).toEqual({
      event: "ticket.created",
      ticket: { id: ticket.id, title: "Printer on fire", priority: "high", tags: ["hardware"] },
    });
  });

  it("counts the delivery as allowed egress", async () => {
    const tenant = await installNotifier(WEBHOOK_URL);

    await createTicket(tenant, { title: "Printer on fire" });

    const view = await installation(tenant);
    expect(view.grants).toEqual({ network: { hosts: ["hooks.example.test"] } });
    expect(view.egress).toEqual({ allowed: 1, refused: 0 });
    expect(view.lastError).toBeNull();
  });

  it("posts once per ticket", async () => {
    const tenant = await installNotifier(WEBHOOK_URL);

    await createTicket(tenant, { title: "First" });
    await createTicket(tenant, { title: "Second" });

    const titles = (await inbox(tenant)).map((request) => JSON.parse(request.body).ticket.title);
    expect(titles.sort()).toEqual(["First", "Second"]);
    expect((await installation(tenant)).egress).toEqual({ allowed: 2, refused: 0 });
  });

  it("refuses a webhook host outside the grant", async () => {
    const tenant = await installNotifier("https://elsewhere.example.test/berth");

    const created = await createTicket(tenant, { title: "Printer on fire" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toHaveLength(1);
    expect(created.body.hooks.created[0].status).toBe("failed");
    expect(created.body.hooks.created[0].error.message).toContain("ERR_EGRESS_NOT_ALLOWED");
    const listed = await api("GET", `/v1/tenants/${tenant}/tickets`);
    expect(listed.body.tickets.map((ticket: { id: string }) => ticket.id)).toEqual([created.body.ticket.id]);
    expect(await inbox(tenant)).toEqual([]);
    const view = await installation(tenant);
    expect(view.egress).toEqual({ allowed: 0, refused: 1 });
    expect(view.lastError).toMatchObject({ code: "ERR_HOOK_FAILED", during: "ticket.created" });
  });

  it("requires the url config field", async () => {
    const tenant = uniqueTenant("webhook");

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, grants: { network: {} } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_CONFIG_INVALID");
    expect(response.body.error.path).toBe("config.url");
  });

  it("rejects a url that does not parse", async () => {
    const tenant = uniqueTenant("webhook");

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, {
      name: PLUGIN,
      grants: { network: {} },
      config: { url: "hooks.example.test/berth" },
    });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(response.body.error.message).toContain("config.url is not a valid URL");
  });

  it("rejects a config change to a non-http url", async () => {
    const tenant = await installNotifier(WEBHOOK_URL);

    const patched = await api("PATCH", `/v1/tenants/${tenant}/installations/${PLUGIN}`, { config: { url: "ftp://hooks.example.test/berth" } });

    expect(patched.status).toBe(422);
    expect(patched.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(patched.body.error.message).toContain("ftp:");
    expect((await installation(tenant)).config).toEqual({ url: WEBHOOK_URL });
  });
});
