import { describe, expect, it } from "vitest";

import {
  api,
  createTicket,
  getInstallation,
  hook,
  install,
  patchInstallation,
  pluginSource,
  publishPlugin,
  readInbox,
  readPanel,
  uniqueTenant,
} from "./helpers/api.ts";

// The panel reports the keys of the plugin's env and, when `tickets:read` is
// granted, the titles of the tickets it returns.
const ENV_PROBE = pluginSource({
  Hooks: `
    async panel(ticket) {
      const report = {
        keys: Object.keys(this.env).sort(),
        storage: typeof this.env.STORAGE,
        tickets: this.env.TICKETS_READ === undefined ? null : (await this.env.TICKETS_READ.list()).map((entry) => entry.title),
      };
      return [{ title: "env", body: JSON.stringify(report) }];
    }`,
});

// Sends a POST to the URL in the ticket's title when a ticket is created.
const SENDER = pluginSource({
  Hooks: `
    async send(ticket) {
      const response = await fetch(ticket.title, { method: "POST" });
      if (response.status !== 202) throw new Error("unexpected status " + response.status);
    }`,
});

/** Sends an install request and returns the response. */
async function tryInstall(tenant: string, body: Record<string, unknown>) {
  return api("POST", `/v1/tenants/${tenant}/installations`, body);
}

describe("install grants", () => {
  it("rejects a missing required grant", async () => {
    const tenant = uniqueTenant("grant-missing");
    await publishPlugin({ name: "grant-missing", source: ENV_PROBE, capabilities: { storage: {} }, hooks: { "ticket.panels": hook("panel") } });

    const response = await tryInstall(tenant, { name: "grant-missing" });
    const lookup = await getInstallation(tenant, "grant-missing");

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_REQUIRED_MISSING");
    expect(response.body.error.path).toBe("grants.storage");
    expect(response.body.error.message).toContain("storage");
    expect(lookup.status).toBe(404);
  });

  it("rejects a grant the manifest does not request", async () => {
    const tenant = uniqueTenant("grant-extra");
    await publishPlugin({ name: "grant-extra", source: ENV_PROBE, hooks: { "ticket.panels": hook("panel") } });

    const response = await tryInstall(tenant, { name: "grant-extra", grants: { network: { hosts: ["a.example.test"] } } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_NOT_REQUESTED");
    expect(response.body.error.path).toBe("grants.network");
  });

  it("rejects a grant named like an Object.prototype member", async () => {
    const tenant = uniqueTenant("grant-proto");
    await publishPlugin({ name: "grant-proto", source: ENV_PROBE, hooks: { "ticket.panels": hook("panel") } });

    const response = await tryInstall(tenant, { name: "grant-proto", grants: { toString: {} } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_NOT_REQUESTED");
    expect(response.body.error.path).toBe("grants.toString");
  });

  it("rejects network hosts wider than the request", async () => {
    const tenant = uniqueTenant("grant-wide");
    await publishPlugin({ name: "grant-wide", source: SENDER, capabilities: { network: { hosts: ["hooks.example.test"] } }, hooks: { "ticket.created": hook("send") } });

    const response = await tryInstall(tenant, { name: "grant-wide", grants: { network: { hosts: ["*.example.test"] } } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_WIDER_THAN_REQUEST");
    expect(response.body.error.path).toBe("grants.network.hosts");
    expect(response.body.error.message).toContain("*.example.test");
  });

  it("rejects hosts on a capability that takes none", async () => {
    const tenant = uniqueTenant("grant-hosts");
    await publishPlugin({ name: "grant-hosts", source: ENV_PROBE, capabilities: { storage: {} }, hooks: { "ticket.panels": hook("panel") } });

    const response = await tryInstall(tenant, { name: "grant-hosts", grants: { storage: { hosts: ["a.example.test"] } } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_WIDER_THAN_REQUEST");
    expect(response.body.error.path).toBe("grants.storage.hosts");
  });

  it("fills a network grant without hosts with the requested hosts", async () => {
    const tenant = uniqueTenant("grant-default-hosts");
    await publishPlugin({ name: "grant-default-hosts", source: SENDER, capabilities: { network: { hosts: ["*.example.test"] } }, hooks: { "ticket.created": hook("send") } });

    const installed = await install(tenant, { name: "grant-default-hosts", grants: { network: {} } });

    expect(installed.grants).toEqual({ network: { hosts: ["*.example.test"] } });
  });
});

describe("bindings in env", () => {
  it("leaves out an optional capability that was not granted", async () => {
    const tenant = uniqueTenant("env-optional");
    await publishPlugin({ name: "env-optional", source: ENV_PROBE, capabilities: { storage: { optional: true } }, hooks: { "ticket.panels": hook("panel") } });
    await install(tenant, { name: "env-optional" });

    const ticket = (await createTicket(tenant, { title: "Bare env" })).body.ticket.id;
    const report = await readPanel(tenant, ticket, "env-optional");

    expect(report.storage).toBe("undefined");
    expect(report.keys).toEqual(["BERTH", "CONFIG"]);
  });

  it("holds a binding for each granted capability", async () => {
    const tenant = uniqueTenant("env-granted");
    await publishPlugin({
      name: "env-granted",
      source: ENV_PROBE,
      capabilities: { storage: {}, "tickets:read": {} },
      hooks: { "ticket.panels": hook("panel") },
    });
    await install(tenant, { name: "env-granted", grants: { storage: {}, "tickets:read": {} } });

    const ticket = (await createTicket(tenant, { title: "Readable ticket" })).body.ticket.id;
    const report = await readPanel(tenant, ticket, "env-granted");

    expect(report.keys).toEqual(["BERTH", "CONFIG", "STORAGE", "TICKETS_READ"]);
    expect(report.storage).toBe("object");
    expect(report.tickets).toEqual(["Readable ticket"]);
  });
});

describe("PATCH grants", () => {
  it("adds and removes an optional binding on the next call", async () => {
    const tenant = uniqueTenant("regrant-optional");
    await publishPlugin({ name: "regrant-optional", source: ENV_PROBE, capabilities: { storage: { optional: true } }, hooks: { "ticket.panels": hook("panel") } });
    await install(tenant, { name: "regrant-optional" });
    const ticket = (await createTicket(tenant, { title: "Regranted" })).body.ticket.id;

    const added = await patchInstallation(tenant, "regrant-optional", { grants: { storage: {} } });
    const withStorage = await readPanel(tenant, ticket, "regrant-optional");
    const removed = await patchInstallation(tenant, "regrant-optional", { grants: {} });
    const withoutStorage = await readPanel(tenant, ticket, "regrant-optional");

    expect(added.status).toBe(200);
    expect(withStorage.storage).toBe("object");
    expect(removed.status).toBe(200);
    expect(withoutStorage.storage).toBe("undefined");
  });

  it("applies a narrowed network grant on the next call", async () => {
    const tenant = uniqueTenant("regrant-narrow");
    await publishPlugin({ name: "regrant-narrow", source: SENDER, capabilities: { network: { hosts: ["*.example.test"] } }, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "regrant-narrow", grants: { network: {} } });
    const before = await createTicket(tenant, { title: "https://b.example.test/before" });

    const narrowed = await patchInstallation(tenant, "regrant-narrow", { grants: { network: { hosts: ["a.example.test"] } } });
    const refused = await createTicket(tenant, { title: "https://b.example.test/after" });
    const allowed = await createTicket(tenant, { title: "https://a.example.test/after" });
    const installation = await getInstallation(tenant, "regrant-narrow");
    const inbox = await readInbox(tenant);

    expect(before.body.hooks.created[0].status).toBe("ok");
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.installation.grants).toEqual({ network: { hosts: ["a.example.test"] } });
    expect(refused.body.hooks.created[0]).toMatchObject({ status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(refused.body.hooks.created[0].error.message).toContain("ERR_EGRESS_NOT_ALLOWED");
    expect(allowed.body.hooks.created[0].status).toBe("ok");
    expect(installation.body.installation.egress).toEqual({ allowed: 2, refused: 1 });
    expect(inbox.map((entry) => entry.url)).toEqual(["https://a.example.test/after", "https://b.example.test/before"]);
  });

  it("rejects a wider network grant and keeps the old one", async () => {
    const tenant = uniqueTenant("regrant-wide");
    await publishPlugin({ name: "regrant-wide", source: SENDER, capabilities: { network: { hosts: ["a.example.test"] } }, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "regrant-wide", grants: { network: {} } });

    const response = await patchInstallation(tenant, "regrant-wide", { grants: { network: { hosts: ["a.example.test", "b.example.test"] } } });
    const current = await getInstallation(tenant, "regrant-wide");

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_WIDER_THAN_REQUEST");
    expect(current.body.installation.grants).toEqual({ network: { hosts: ["a.example.test"] } });
  });

  it("rejects dropping a required grant", async () => {
    const tenant = uniqueTenant("regrant-required");
    await publishPlugin({ name: "regrant-required", source: ENV_PROBE, capabilities: { storage: {} }, hooks: { "ticket.panels": hook("panel") } });
    await install(tenant, { name: "regrant-required", grants: { storage: {} } });

    const response = await patchInstallation(tenant, "regrant-required", { grants: {} });
    const current = await getInstallation(tenant, "regrant-required");

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_REQUIRED_MISSING");
    expect(current.body.installation.grants).toEqual({ storage: {} });
  });
});
