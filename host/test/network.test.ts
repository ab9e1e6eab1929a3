import { describe, expect, it } from "vitest";

import { createTicket, getInstallation, hook, install, logMessages, pluginSource, publishPlugin, readInbox, uniqueTenant } from "./helpers/api.ts";

// Sends a POST to the URL in the ticket's title when a ticket is created and
// lets any failure propagate, so the call record shows it.
const SENDER_SOURCE = pluginSource({
  Hooks: `
    async send(ticket) {
      const response = await fetch(ticket.title, { method: "POST", body: "ticket " + ticket.id });
      if (response.status !== 202) throw new Error("unexpected status " + response.status);
    }`,
});

const SOCKET_SOURCE = `
import { WorkerEntrypoint } from "cloudflare:workers";
import { connect } from "cloudflare:sockets";
export class Hooks extends WorkerEntrypoint {
  async open(ticket) {
    const socket = connect(ticket.title);
    const writer = socket.writable.getWriter();
    await writer.write(new TextEncoder().encode("ping"));
    const { value } = await socket.readable.getReader().read();
    return new TextDecoder().decode(value);
  }
}
`;

const EXAMPLE_TEST = { network: { hosts: ["*.example.test"] } };

describe("plugin without the network grant", () => {
  it("cannot fetch and still lets the ticket be created", async () => {
    const tenant = uniqueTenant("net-none");
    await publishPlugin({ name: "net-none", source: SENDER_SOURCE, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "net-none" });

    const created = await createTicket(tenant, { title: "https://hooks.example.test/none" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toHaveLength(1);
    expect(created.body.hooks.created[0]).toMatchObject({ plugin: "net-none", status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(created.body.hooks.created[0].error.message).toContain("not permitted to access the internet");
    expect(await readInbox(tenant)).toEqual([]);
  });

  it("cannot fetch when an optional network request was not granted", async () => {
    const tenant = uniqueTenant("net-optional");
    await publishPlugin({
      name: "net-optional",
      source: SENDER_SOURCE,
      capabilities: { network: { hosts: ["*.example.test"], optional: true } },
      hooks: { "ticket.created": hook("send") },
    });
    await install(tenant, { name: "net-optional" });

    const created = await createTicket(tenant, { title: "https://hooks.example.test/optional" });
    const installation = await getInstallation(tenant, "net-optional");

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(await readInbox(tenant)).toEqual([]);
    expect(installation.body.installation.egress).toEqual({ allowed: 0, refused: 0 });
  });

  it("cannot open a socket", async () => {
    const tenant = uniqueTenant("net-socket-none");
    await publishPlugin({ name: "net-socket-none", source: SOCKET_SOURCE, hooks: { "ticket.created": hook("open") } });
    await install(tenant, { name: "net-socket-none" });

    const created = await createTicket(tenant, { title: "127.0.0.1:9" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(created.body.hooks.created[0].error.message).toContain("not permitted to access the internet");
  });
});

describe("plugin with a network grant", () => {
  it("delivers a request to an allowed host", async () => {
    const tenant = uniqueTenant("net-allowed");
    await publishPlugin({ name: "net-allowed", source: SENDER_SOURCE, capabilities: EXAMPLE_TEST, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "net-allowed", grants: { network: {} } });

    const created = await createTicket(tenant, { title: "https://hooks.example.test/allowed" });
    const inbox = await readInbox(tenant);
    const installation = await getInstallation(tenant, "net-allowed");

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ plugin: "net-allowed", status: "ok" });
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ plugin: "net-allowed", method: "POST", url: "https://hooks.example.test/allowed", body: `ticket ${created.body.ticket.id}` });
    expect(installation.body.installation.egress).toEqual({ allowed: 1, refused: 0 });
  });

  it("refuses a host outside the grant", async () => {
    const tenant = uniqueTenant("net-refused");
    await publishPlugin({ name: "net-refused", source: SENDER_SOURCE, capabilities: EXAMPLE_TEST, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "net-refused", grants: { network: {} } });

    const created = await createTicket(tenant, { title: "https://api.other.test/refused" });
    const installation = await getInstallation(tenant, "net-refused");
    const logs = await logMessages(tenant, "net-refused");

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(created.body.hooks.created[0].error.message).toContain("ERR_EGRESS_NOT_ALLOWED");
    expect(created.body.hooks.created[0].error.message).toContain("api.other.test");
    expect(await readInbox(tenant)).toEqual([]);
    expect(installation.body.installation.egress).toEqual({ allowed: 0, refused: 1 });
    expect(logs).toContain("egress refused: POST https://api.other.test/refused");
    expect(logs.some((message) => message.includes("ERR_EGRESS_NOT_ALLOWED"))).toBe(true);
  });

  it("counts allowed and refused requests", async () => {
    const tenant = uniqueTenant("net-count");
    await publishPlugin({ name: "net-count", source: SENDER_SOURCE, capabilities: EXAMPLE_TEST, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name: "net-count", grants: { network: {} } });

    await createTicket(tenant, { title: "https://a.example.test/1" });
    await createTicket(tenant, { title: "https://b.example.test/2" });
    await createTicket(tenant, { title: "https://evil.test/3" });
    const installation = await getInstallation(tenant, "net-count");

    expect(installation.body.installation.egress).toEqual({ allowed: 2, refused: 1 });
    expect(await readInbox(tenant)).toHaveLength(2);
  });

  it.each([
    ["the bare domain of a wildcard", "https://example.test/bare"],
    ["a host hidden behind user info", "https://hooks.example.test@evil.test/userinfo"],
    ["a lookalike suffix", "https://hooks.example.test.evil.test/suffix"],
    ["an allowed host on another port", "https://hooks.example.test:8443/port"],
  ])("refuses %s", async (_case, url) => {
    const tenant = uniqueTenant("net-trick");
    const name = `net-trick-${crypto.randomUUID().slice(0, 8)}`;
    await publishPlugin({ name, source: SENDER_SOURCE, capabilities: EXAMPLE_TEST, hooks: { "ticket.created": hook("send") } });
    await install(tenant, { name, grants: { network: {} } });

    const created = await createTicket(tenant, { title: url });
    const installation = await getInstallation(tenant, name);

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0].error.message).toContain("ERR_EGRESS_NOT_ALLOWED");
    expect(await readInbox(tenant)).toEqual([]);
    expect(installation.body.installation.egress).toEqual({ allowed: 0, refused: 1 });
  });

  it("cannot open a socket past the egress check", async () => {
    const tenant = uniqueTenant("net-socket");
    await publishPlugin({ name: "net-socket", source: SOCKET_SOURCE, capabilities: EXAMPLE_TEST, hooks: { "ticket.created": hook("open") } });
    await install(tenant, { name: "net-socket", grants: { network: {} } });

    const created = await createTicket(tenant, { title: "hooks.example.test:443" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ status: "failed", error: { code: "ERR_HOOK_FAILED" } });
  });
});
