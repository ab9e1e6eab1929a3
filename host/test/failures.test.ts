import { describe, expect, it } from "vitest";

import { createTicket, getInstallation, hook, install, pluginSource, publishPlugin, uniqueTenant } from "./helpers/api.ts";

// A well-behaved filter that runs after the misbehaving one (lower priority).
const GOOD_SOURCE = pluginSource({
  Hooks: `
    async tag(draft) { return { ...draft, tags: [...draft.tags, "good"] }; }
    async created(ticket) {}`,
});

/** Returns the source of a plugin whose `ticket.beforeCreate` and `ticket.created` methods run `body`. */
function misbehavingSource(body: string): string {
  return pluginSource({
    Hooks: `
      async filter(draft) { ${body} }
      async created(ticket) { ${body} }`,
  });
}

/**
 * Installs, in a new tenant, the misbehaving plugin `name` (running first) and a
 * good plugin (running second), both subscribed to `point`.
 */
async function installPair(name: string, body: string, point: "ticket.beforeCreate" | "ticket.created"): Promise<string> {
  const method = point === "ticket.beforeCreate" ? ["filter", "tag"] : ["created", "created"];
  const tenant = uniqueTenant(name);
  await publishPlugin({ name, source: misbehavingSource(body), hooks: { [point]: hook(method[0]!, 10) } });
  await publishPlugin({ name: `${name}-good`, source: GOOD_SOURCE, hooks: { [point]: hook(method[1]!) } });
  await install(tenant, { name });
  await install(tenant, { name: `${name}-good` });
  return tenant;
}

describe("throwing hook", () => {
  it("is skipped while the ticket is created", async () => {
    const tenant = await installPair("fail-throw", `throw new Error("boom in the filter");`, "ticket.beforeCreate");

    const created = await createTicket(tenant, { title: "Survives a throwing filter" });

    expect(created.status).toBe(201);
    expect(created.body.ticket.tags).toEqual(["good"]);
    expect(created.body.hooks.beforeCreate).toHaveLength(2);
    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "fail-throw", status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(created.body.hooks.beforeCreate[0].error.message).toContain("boom in the filter");
    expect(created.body.hooks.beforeCreate[1]).toMatchObject({ plugin: "fail-throw-good", status: "ok" });
  });

  it("sets lastError and counts consecutive failures", async () => {
    const tenant = await installPair("fail-count", `throw new Error("boom again");`, "ticket.beforeCreate");

    await createTicket(tenant, { title: "First failure" });
    await createTicket(tenant, { title: "Second failure" });
    const failing = await getInstallation(tenant, "fail-count");
    const good = await getInstallation(tenant, "fail-count-good");

    expect(failing.body.installation.consecutiveFailures).toBe(2);
    expect(failing.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_FAILED", during: "ticket.beforeCreate" });
    expect(failing.body.installation.lastError.message).toContain("boom again");
    expect(good.body.installation.consecutiveFailures).toBe(0);
    expect(good.body.installation.lastError).toBeNull();
  });

  it("resets consecutive failures after a success", async () => {
    const tenant = await installPair("fail-reset", `if (draft.title.startsWith("fail")) throw new Error("asked to fail"); return draft;`, "ticket.beforeCreate");

    await createTicket(tenant, { title: "fail one" });
    await createTicket(tenant, { title: "fail two" });
    await createTicket(tenant, { title: "succeed" });
    const installation = await getInstallation(tenant, "fail-reset");

    expect(installation.body.installation.consecutiveFailures).toBe(0);
    expect(installation.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_FAILED" });
  });

  it("in an event does not stop the others", async () => {
    const tenant = await installPair("fail-event", `throw new Error("boom in the event");`, "ticket.created");

    const created = await createTicket(tenant, { title: "Survives a throwing event hook" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created).toHaveLength(2);
    expect(created.body.hooks.created[0]).toMatchObject({ plugin: "fail-event", status: "failed", error: { code: "ERR_HOOK_FAILED" } });
    expect(created.body.hooks.created[1]).toMatchObject({ plugin: "fail-event-good", status: "ok" });
  });
});

describe("hanging hook", () => {
  it("times out while the ticket is created", async () => {
    const tenant = await installPair("hang-timer", `await scheduler.wait(60_000); return draft;`, "ticket.beforeCreate");

    const created = await createTicket(tenant, { title: "Survives a hanging filter" });
    const installation = await getInstallation(tenant, "hang-timer");

    expect(created.status).toBe(201);
    expect(created.body.ticket.tags).toEqual(["good"]);
    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "hang-timer", status: "timeout", error: { code: "ERR_HOOK_TIMEOUT" } });
    expect(created.body.hooks.beforeCreate[0].error.message).toContain("1000 ms");
    expect(created.body.hooks.beforeCreate[1]).toMatchObject({ plugin: "hang-timer-good", status: "ok" });
    expect(installation.body.installation.consecutiveFailures).toBe(1);
    expect(installation.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_TIMEOUT", during: "ticket.beforeCreate" });
  });

  it("times out in an event while the ticket is created", async () => {
    const tenant = await installPair("hang-event", `await scheduler.wait(60_000);`, "ticket.created");

    const created = await createTicket(tenant, { title: "Survives a hanging event hook" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.created[0]).toMatchObject({ plugin: "hang-event", status: "timeout", error: { code: "ERR_HOOK_TIMEOUT" } });
    expect(created.body.hooks.created[1]).toMatchObject({ plugin: "hang-event-good", status: "ok" });
  });

  it("that never settles does not block the ticket", async () => {
    const tenant = await installPair("hang-forever", `await new Promise(() => {}); return draft;`, "ticket.beforeCreate");

    const created = await createTicket(tenant, { title: "Survives a promise that never settles" });
    const installation = await getInstallation(tenant, "hang-forever");

    expect(created.status).toBe(201);
    expect(created.body.ticket.tags).toEqual(["good"]);
    expect(created.body.hooks.beforeCreate[0].status).not.toBe("ok");
    expect(created.body.hooks.beforeCreate[1]).toMatchObject({ plugin: "hang-forever-good", status: "ok" });
    expect(installation.body.installation.consecutiveFailures).toBe(1);
  });

  // workerd cancels a call whose promise can never settle (no pending I/O) with
  // "... detected that your Worker's code had hung"; dispatch counts it as a timeout.
  it("that never settles is recorded as a timeout", async () => {
    const tenant = await installPair("hang-forever-code", `await new Promise(() => {}); return draft;`, "ticket.beforeCreate");

    const created = await createTicket(tenant, { title: "A promise that never settles" });
    const installation = await getInstallation(tenant, "hang-forever-code");

    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ status: "timeout", error: { code: "ERR_HOOK_TIMEOUT" } });
    expect(installation.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_TIMEOUT" });
  });
});

describe("filter returning garbage", () => {
  it.each([
    ["a string", `return "garbage";`, "the result"],
    ["nothing", `return undefined;`, "the result"],
    ["a number title", `return { ...draft, title: 42 };`, "result.title"],
    ["an unknown key", `return { ...draft, admin: true };`, "result.admin"],
    ["an invalid tag", `return { ...draft, tags: ["Not A Tag"] };`, "result.tags.0"],
  ])("is skipped when it returns %s", async (_case, body, path) => {
    const name = `garbage-${crypto.randomUUID().slice(0, 8)}`;
    const tenant = await installPair(name, body, "ticket.beforeCreate");

    const created = await createTicket(tenant, { title: "Keeps its title" });
    const installation = await getInstallation(tenant, name);

    expect(created.status).toBe(201);
    expect(created.body.ticket.title).toBe("Keeps its title");
    expect(created.body.ticket.tags).toEqual(["good"]);
    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ plugin: name, status: "invalid", error: { code: "ERR_HOOK_RESULT_INVALID" } });
    expect(created.body.hooks.beforeCreate[0].error.message).toContain(path);
    expect(installation.body.installation.lastError).toMatchObject({ code: "ERR_HOOK_RESULT_INVALID", during: "ticket.beforeCreate" });
  });
});
