import { describe, expect, it } from "vitest";

import { orderSubscribers, type Subscriber } from "../src/framework/hooks/dispatch.ts";
import {
  closeTicket,
  createTicket,
  getInstallation,
  hook,
  install,
  pluginSource,
  publishPlugin,
  readPanel,
  showTicket,
  uniqueTenant,
} from "./helpers/api.ts";

// Appends the plugin's own name as a tag, so the tags show the filter order.
const NAME_TAGGER = pluginSource({
  Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, this.env.BERTH.plugin] }; }`,
});

/** Publishes a name tagger with `priority` and installs it in `tenant`. */
async function installTagger(tenant: string, name: string, priority: number): Promise<void> {
  await publishPlugin({ name, source: NAME_TAGGER, hooks: { "ticket.beforeCreate": hook("tag", priority) } });
  await install(tenant, { name });
}

/** Returns the source of a decision plugin whose method body is `body`. */
function guardSource(body: string): string {
  return pluginSource({ Hooks: `async decide(payload) { ${body} }` });
}

/** Publishes a guard on `ticket.beforeClose` and installs it in `tenant`. */
async function installGuard(tenant: string, name: string, body: string): Promise<void> {
  await publishPlugin({ name, source: guardSource(body), hooks: { "ticket.beforeClose": hook("decide") } });
  await install(tenant, { name });
}

/** Publishes a panel plugin on `ticket.panels` whose method returns `items` and installs it in `tenant`. */
async function installPanels(tenant: string, name: string, items: string, priority?: number): Promise<void> {
  const source = pluginSource({ Hooks: `async panels(ticket) { return ${items}; }` });
  await publishPlugin({ name, source, hooks: { "ticket.panels": hook("panels", priority) } });
  await install(tenant, { name });
}

describe("filter dispatch", () => {
  it("runs higher priority first and chains the results", async () => {
    const tenant = uniqueTenant("order");
    await installTagger(tenant, "order-mid", 0);
    await installTagger(tenant, "order-low", -5);
    await installTagger(tenant, "order-high", 10);

    const created = await createTicket(tenant, { title: "Ordered", tags: ["first"] });

    expect(created.body.ticket.tags).toEqual(["first", "order-high", "order-mid", "order-low"]);
    expect(created.body.hooks.beforeCreate.map((call: { plugin: string }) => call.plugin)).toEqual(["order-high", "order-mid", "order-low"]);
  });

  it("runs equal priorities in installation order", async () => {
    const tenant = uniqueTenant("tie");
    await installTagger(tenant, "tie-zulu", 0);
    // Installation times are in milliseconds, so the wait makes the second one later.
    await scheduler.wait(5);
    await installTagger(tenant, "tie-alpha", 0);
    const zulu = await getInstallation(tenant, "tie-zulu");
    const alpha = await getInstallation(tenant, "tie-alpha");

    const created = await createTicket(tenant, { title: "Tied" });

    expect(Date.parse(zulu.body.installation.installedAt)).toBeLessThan(Date.parse(alpha.body.installation.installedAt));
    expect(created.body.ticket.tags).toEqual(["tie-zulu", "tie-alpha"]);
  });
});

describe("orderSubscribers", () => {
  const subscriber = (plugin: string, priority: number, installedAt: number): Subscriber => ({
    plugin,
    version: "1.0.0",
    installationId: plugin,
    priority,
    installedAt,
    invoke: async (payload) => payload,
  });

  it("orders by priority, then installation time, then name", () => {
    const ordered = orderSubscribers([
      subscriber("charlie", 0, 100),
      subscriber("bravo", 0, 50),
      subscriber("alpha", 0, 100),
      subscriber("delta", 5, 200),
      subscriber("echo", -1, 0),
    ]);

    expect(ordered.map((entry) => entry.plugin)).toEqual(["delta", "bravo", "alpha", "charlie", "echo"]);
  });

  it("does not reorder its input", () => {
    const input = [subscriber("beta", 0, 0), subscriber("alpha", 0, 0)];

    orderSubscribers(input);

    expect(input.map((entry) => entry.plugin)).toEqual(["beta", "alpha"]);
  });
});

describe("decision dispatch", () => {
  it("keeps the ticket open when one plugin refuses", async () => {
    const tenant = uniqueTenant("decide-refuse");
    await installGuard(tenant, "guard-allows", `return { allow: true };`);
    await installGuard(tenant, "guard-refuses", `return { allow: false, reason: "waiting for the customer" };`);
    const ticket = (await createTicket(tenant, { title: "Guarded" })).body.ticket.id;

    const closed = await closeTicket(tenant, ticket, { reason: "done" });
    const page = await showTicket(tenant, ticket);

    expect(closed.status).toBe(409);
    expect(closed.body.decision.allowed).toBe(false);
    expect(closed.body.decision.refusals).toEqual([{ plugin: "guard-refuses", reason: "waiting for the customer" }]);
    expect(closed.body.decision.calls).toHaveLength(2);
    expect(page.body.ticket.status).toBe("open");
  });

  it("closes the ticket when every plugin allows", async () => {
    const tenant = uniqueTenant("decide-allow");
    await installGuard(tenant, "guard-allows-one", `return { allow: true };`);
    await installGuard(tenant, "guard-allows-two", `return { allow: true };`);
    const ticket = (await createTicket(tenant, { title: "Allowed" })).body.ticket.id;

    const closed = await closeTicket(tenant, ticket, { reason: "done" });

    expect(closed.status).toBe(200);
    expect(closed.body.decision).toMatchObject({ allowed: true, refusals: [] });
    expect(closed.body.ticket).toMatchObject({ status: "closed", closeReason: "done" });
  });

  it("passes the close request to the plugin", async () => {
    const tenant = uniqueTenant("decide-payload");
    await installGuard(tenant, "guard-wants-reason", `return payload.reason ? { allow: true } : { allow: false, reason: "give a reason" };`);
    const ticket = (await createTicket(tenant, { title: "Needs a reason" })).body.ticket.id;

    const withoutReason = await closeTicket(tenant, ticket);
    const withReason = await closeTicket(tenant, ticket, { reason: "answered" });

    expect(withoutReason.status).toBe(409);
    expect(withoutReason.body.decision.refusals).toEqual([{ plugin: "guard-wants-reason", reason: "give a reason" }]);
    expect(withReason.status).toBe(200);
  });

  it("does not count a failing plugin as a refusal", async () => {
    const tenant = uniqueTenant("decide-throw");
    await installGuard(tenant, "guard-throws", `throw new Error("guard crashed");`);
    const ticket = (await createTicket(tenant, { title: "Broken guard" })).body.ticket.id;

    const closed = await closeTicket(tenant, ticket);

    expect(closed.status).toBe(200);
    expect(closed.body.decision.calls[0]).toMatchObject({ plugin: "guard-throws", status: "failed", error: { code: "ERR_HOOK_FAILED" } });
  });

  it("skips an invalid decision", async () => {
    const tenant = uniqueTenant("decide-invalid");
    await installGuard(tenant, "guard-invalid", `return { allow: "no" };`);
    const ticket = (await createTicket(tenant, { title: "Garbage decision" })).body.ticket.id;

    const closed = await closeTicket(tenant, ticket);

    expect(closed.status).toBe(200);
    expect(closed.body.decision.calls[0]).toMatchObject({ plugin: "guard-invalid", status: "invalid", error: { code: "ERR_HOOK_RESULT_INVALID" } });
  });
});

describe("collect dispatch", () => {
  it("tags each item with its plugin, in dispatch order", async () => {
    const tenant = uniqueTenant("collect");
    await installPanels(tenant, "panels-second", `[{ title: "Second", body: "b" }]`);
    await installPanels(tenant, "panels-first", `[{ title: "First", body: "a1" }, { title: "First again", body: "a2" }]`, 5);
    const ticket = (await createTicket(tenant, { title: "Collected" })).body.ticket.id;

    const page = await showTicket(tenant, ticket);

    expect(page.status).toBe(200);
    expect(page.body.panels).toEqual([
      { plugin: "panels-first", item: { title: "First", body: "a1" } },
      { plugin: "panels-first", item: { title: "First again", body: "a2" } },
      { plugin: "panels-second", item: { title: "Second", body: "b" } },
    ]);
  });

  it("drops every item of a plugin that returns too many", async () => {
    const tenant = uniqueTenant("collect-many");
    await installPanels(tenant, "panels-flood", `Array.from({ length: 21 }, (_, index) => ({ title: "Flood " + index, body: "" }))`);
    await installPanels(tenant, "panels-modest", `[{ title: "Modest", body: "" }]`);
    const ticket = (await createTicket(tenant, { title: "Flooded" })).body.ticket.id;

    const page = await showTicket(tenant, ticket);
    const flood = await getInstallation(tenant, "panels-flood");

    expect(page.body.panels).toEqual([{ plugin: "panels-modest", item: { title: "Modest", body: "" } }]);
    expect(flood.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_RESULT_INVALID", during: "ticket.panels" });
  });

  it("drops an item that claims another plugin", async () => {
    const tenant = uniqueTenant("collect-forge");
    await installPanels(tenant, "panels-forger", `[{ title: "Forged", body: "", plugin: "panels-honest" }]`);
    const ticket = (await createTicket(tenant, { title: "Forged panel" })).body.ticket.id;

    const page = await showTicket(tenant, ticket);
    const forger = await getInstallation(tenant, "panels-forger");

    expect(page.body.panels).toEqual([]);
    expect(forger.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_RESULT_INVALID" });
  });
});

describe("event dispatch", () => {
  // Stores the event payload and context, and the panel reports them.
  const LISTENER = pluginSource({
    Hooks: `
      async created(ticket, context) {
        await this.env.STORAGE.put("event", { ticketId: ticket.id, status: ticket.status, context });
        return "results of events are ignored";
      }
      async panel(ticket) {
        return [{ title: "event", body: JSON.stringify(await this.env.STORAGE.get("event")) }];
      }`,
  });

  it("tells every subscriber about the stored ticket", async () => {
    const tenant = uniqueTenant("event");
    for (const name of ["listener-one", "listener-two"]) {
      await publishPlugin({ name, source: LISTENER, capabilities: { storage: {} }, hooks: { "ticket.created": hook("created"), "ticket.panels": hook("panel") } });
      await install(tenant, { name, grants: { storage: {} } });
    }

    const created = await createTicket(tenant, { title: "Announced" });
    const ticket = created.body.ticket.id;
    const firstReport = await readPanel(tenant, ticket, "listener-one");
    const secondReport = await readPanel(tenant, ticket, "listener-two");

    expect(created.body.hooks.created).toEqual([
      { plugin: "listener-one", version: "1.0.0", status: "ok" },
      { plugin: "listener-two", version: "1.0.0", status: "ok" },
    ]);
    expect(firstReport).toMatchObject({ ticketId: ticket, status: "open" });
    expect(secondReport).toMatchObject({ ticketId: ticket, status: "open" });
  });

  it("passes the hook context", async () => {
    const tenant = uniqueTenant("event-context");
    await publishPlugin({
      name: "listener-context",
      source: LISTENER,
      capabilities: { storage: {} },
      hooks: { "ticket.created": hook("created"), "ticket.panels": hook("panel") },
    });
    await install(tenant, { name: "listener-context", grants: { storage: {} } });

    const ticket = (await createTicket(tenant, { title: "Context" })).body.ticket.id;
    const report = await readPanel(tenant, ticket, "listener-context");

    expect(report.context).toMatchObject({ tenant, plugin: "listener-context", version: "1.0.0", hook: "ticket.created", depth: 0 });
    expect(report.context.installation).toMatch(/^[0-9a-f-]{36}$/);
  });
});
