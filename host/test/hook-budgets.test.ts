import { describe, expect, it } from "vitest";

import committedCatalogue from "../../manifests/help-desk.hook-points.json";
import committedProfile from "../../manifests/help-desk.host-profile.json";
import { hostProfile } from "../src/framework/index.ts";
import { helpDesk } from "../src/demo/host.ts";
import { api, createTicket, install, makePackage, publish, uniqueTenant } from "./helpers/api.ts";

describe("event fan-out", () => {
  it("keeps at most 4 plugin calls in flight for 10 subscribers", async () => {
    const tenant = uniqueTenant("fanout");
    // Each plugin reports entering and leaving its hook through the demo egress;
    // the inbox keeps the order, so the in-flight count can be replayed exactly.
    const source = `
      import { WorkerEntrypoint } from "cloudflare:workers";
      export class Hooks extends WorkerEntrypoint {
        async created(ticket) {
          const me = this.env.BERTH.plugin;
          await fetch("https://probe.example.test/enter/" + me, { method: "POST" });
          await scheduler.wait(30);
          await fetch("https://probe.example.test/leave/" + me, { method: "POST" });
        }
      }`;
    for (let index = 0; index < 10; index += 1) {
      const name = `fanout-${index}`;
      await publish(
        await makePackage({
          name,
          source,
          capabilities: { network: { hosts: ["probe.example.test"] } },
          hooks: { "ticket.created": { entrypoint: "Hooks", method: "created" } },
        }),
      );
      await install(tenant, { name, grants: { network: {} } });
    }

    const created = await createTicket(tenant, { title: "Fan out" });
    const inbox = await api("GET", `/v1/tenants/${tenant}/inbox`);
    const events = (inbox.body.requests as { url: string }[]).reverse().map((request) => new URL(request.url).pathname);

    let inFlight = 0;
    let maxInFlight = 0;
    for (const path of events) {
      inFlight += path.startsWith("/enter/") ? 1 : -1;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toHaveLength(10);
    expect(events).toHaveLength(20);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe("dispatch depth", () => {
  it("stops a plugin that re-triggers its own hook", async () => {
    const tenant = uniqueTenant("depth");
    await publish(
      await makePackage({
        name: "echo-chamber",
        source: `
          import { WorkerEntrypoint } from "cloudflare:workers";
          export class Hooks extends WorkerEntrypoint {
            async created(ticket, context) {
              console.log("created at depth " + context.depth);
              await this.env.TICKETS_WRITE.create({ title: "echo of " + ticket.title });
            }
          }`,
        capabilities: { "tickets:write": {} },
        hooks: { "ticket.created": { entrypoint: "Hooks", method: "created" } },
      }),
    );
    await install(tenant, { name: "echo-chamber", grants: { "tickets:write": {} } });

    const created = await createTicket(tenant, { title: "First" });
    const tickets = await api("GET", `/v1/tenants/${tenant}/tickets`);
    const logs = await api("GET", `/v1/tenants/${tenant}/installations/echo-chamber/logs`);
    const messages = (logs.body.logs as { message: string }[]).map((line) => line.message);

    expect(created.status).toBe(201);
    // The app's ticket at depth 0 plus one echo per allowed level (maximum depth 3).
    expect(tickets.body.tickets).toHaveLength(4);
    expect(messages).toContain("created at depth 3");
    expect(messages).not.toContain("created at depth 4");
    expect(messages.some((message) => message.includes("ERR_HOOK_DEPTH_EXCEEDED"))).toBe(true);
  });
});

describe("automatic disable", () => {
  it("disables after 5 consecutive failures and resets on enable", async () => {
    const tenant = uniqueTenant("flaky");
    await publish(
      await makePackage({
        name: "always-fails",
        source: `
          import { WorkerEntrypoint } from "cloudflare:workers";
          export class Hooks extends WorkerEntrypoint {
            async created() { throw new Error("broken on purpose"); }
          }`,
        hooks: { "ticket.created": { entrypoint: "Hooks", method: "created" } },
      }),
    );
    await install(tenant, { name: "always-fails" });

    for (let attempt = 1; attempt <= 4; attempt += 1) await createTicket(tenant, { title: `Attempt ${attempt}` });
    const afterFour = await api("GET", `/v1/tenants/${tenant}/installations/always-fails`);
    await createTicket(tenant, { title: "Attempt 5" });
    const afterFive = await api("GET", `/v1/tenants/${tenant}/installations/always-fails`);
    const sixth = await createTicket(tenant, { title: "Attempt 6" });
    const enabled = await api("PATCH", `/v1/tenants/${tenant}/installations/always-fails`, { state: "enabled" });

    expect(afterFour.body.installation.state).toBe("enabled");
    expect(afterFour.body.installation.consecutiveFailures).toBe(4);
    expect(afterFive.body.installation.state).toBe("disabled");
    expect(afterFive.body.installation.lastError.message).toContain("disabled automatically after 5 consecutive failed hook calls");
    expect(sixth.status).toBe(201);
    expect(sixth.body.hooks.created).toEqual([]);
    expect(enabled.body.installation.state).toBe("enabled");
    expect(enabled.body.installation.consecutiveFailures).toBe(0);
  });
});

describe("GET /v1/hook-points", () => {
  it("lists every declared hook point with kind and JSON Schemas", async () => {
    const response = await api("GET", "/v1/hook-points");
    const byName = Object.fromEntries((response.body.hookPoints as { name: string }[]).map((point) => [point.name, point]));

    expect(response.status).toBe(200);
    expect(Object.keys(byName).sort()).toEqual(["ticket.beforeClose", "ticket.beforeCreate", "ticket.created", "ticket.panels"]);
    expect(byName["ticket.beforeCreate"]).toMatchObject({ kind: "filter", errorPolicy: "continue", payload: { type: "object", required: ["title"] } });
    expect(byName["ticket.created"]).toMatchObject({ kind: "event" });
    expect(byName["ticket.beforeClose"]).toMatchObject({ kind: "decision" });
    expect(byName["ticket.panels"]).toMatchObject({ kind: "collect", item: { type: "object", required: ["title", "body"] } });
  });

  it("matches the committed catalogue that berth types reads", async () => {
    const response = await api("GET", "/v1/hook-points");

    // When this fails, refresh manifests/help-desk.hook-points.json from the host and rerun berth types.
    expect(response.body).toEqual(committedCatalogue);
  });

  it("matches the committed host profile that berth verify reads", () => {
    // When this fails, update manifests/help-desk.host-profile.json to this value.
    expect(hostProfile(helpDesk)).toEqual(committedProfile);
  });
});
