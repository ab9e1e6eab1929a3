import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import type { CapabilityProps } from "../src/framework/index.ts";
import { createTicket, hook, install, logMessages, pluginSource, publishPlugin, readPanel, uninstall, uniqueTenant } from "./helpers/api.ts";

// Reports the plugin's identity through its panel, so the test can build the
// props the host gives its bindings.
const IDENTITY_PROBE = pluginSource({
  Hooks: `
    async panel(ticket) { return [{ title: "identity", body: JSON.stringify(this.env.BERTH) }]; }
    async created(ticket) {
      console.log("created ticket", ticket.id);
      if (ticket.title === "Long log line") console.log("x".repeat(5000));
    }`,
});

/** Publishes and installs the identity probe, then returns the props of its storage binding. */
async function installProbe(tenant: string, name: string, grants: Record<string, object>): Promise<CapabilityProps> {
  await publishPlugin({
    name,
    source: IDENTITY_PROBE,
    capabilities: { storage: { optional: true }, "tickets:read": { optional: true } },
    hooks: { "ticket.panels": hook("panel"), "ticket.created": hook("created") },
  });
  await install(tenant, { name, grants });
  const ticket = (await createTicket(tenant, { title: "Identity probe" })).body.ticket.id;
  const identity = await readPanel(tenant, ticket, name);
  return { ...identity, capability: "storage", grant: {} };
}

/** Returns the message of the error `call` rejects with; fails the test if it resolves. */
async function rejection(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the call to be rejected");
}

/** Returns a storage binding with the given props, made the way the loader makes it. */
function storageWith(props: unknown) {
  return exports.BerthStorage({ props: props as CapabilityProps });
}

describe("capability props", () => {
  it("rejects malformed props", async () => {
    const message = await rejection(() => storageWith({ bogus: true }).get("x"));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("rejects missing props", async () => {
    const message = await rejection(() => exports.BerthStorage({}).get("x"));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("rejects props made for another capability", async () => {
    const props = { tenant: "acme", installation: crypto.randomUUID(), plugin: "p", version: "1.0.0", capability: "network", grant: {} };

    const message = await rejection(() => storageWith(props).get("x"));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("rejects props of an installation that does not exist", async () => {
    const props = { tenant: uniqueTenant("props-none"), installation: crypto.randomUUID(), plugin: "ghost", version: "1.0.0", capability: "storage", grant: {} };

    const message = await rejection(() => storageWith(props).get("x"));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });

  it("rejects malformed props on tickets:read", async () => {
    const message = await rejection(() => exports.TicketsRead({ props: { bogus: true } as never }).list());

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("rejects malformed props on the egress with the code", async () => {
    const message = await rejection(() => exports.DemoEgress({ props: { bogus: true } as never }).fetch("https://a.example.test/"));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });
});

describe("storage binding", () => {
  const tenant = uniqueTenant("cap-storage");
  let props: CapabilityProps;

  beforeAll(async () => {
    props = await installProbe(tenant, "cap-storage", { storage: {} });
  });

  it("stores and returns JSON values", async () => {
    const storage = storageWith(props);

    await storage.put("profile", { name: "Ada", tags: ["vip"], visits: 3 });

    expect(await storage.get("profile")).toEqual({ name: "Ada", tags: ["vip"], visits: 3 });
    expect(await storage.get("missing")).toBeNull();
  });

  it("deletes a key and reports whether it existed", async () => {
    const storage = storageWith(props);
    await storage.put("doomed", 1);

    expect(await storage.delete("doomed")).toBe(true);
    expect(await storage.delete("doomed")).toBe(false);
    expect(await storage.get("doomed")).toBeNull();
  });

  it("lists by literal prefix", async () => {
    const storage = storageWith(props);
    await storage.put("100%-a", 1);
    await storage.put("100%-b", 2);
    await storage.put("1000", 3);

    const entries = await storage.list({ prefix: "100%" });

    expect(entries).toEqual([
      { key: "100%-a", value: 1 },
      { key: "100%-b", value: 2 },
    ]);
  });

  it.each([
    ["an empty key", "", 1],
    ["a key over 512 characters", "k".repeat(513), 1],
    ["a value over 64 KiB", "large", "v".repeat(64 * 1024)],
    ["an undefined value", "nothing", undefined],
  ])("rejects %s", async (_case, key, value) => {
    const message = await rejection(() => storageWith(props).put(key, value));

    expect(message).toMatch(/^ERR_STORAGE_INVALID/);
  });

  it("rejects the props of this installation in another tenant", async () => {
    const message = await rejection(() => storageWith({ ...props, tenant: uniqueTenant("cap-other") }).get("profile"));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });

  it("rejects the props of an installation without the grant", async () => {
    const other = uniqueTenant("cap-no-grant");
    const ungranted = await installProbe(other, "cap-no-grant", {});

    const message = await rejection(() => storageWith(ungranted).get("x"));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });

  it("rejects the props of an uninstalled installation", async () => {
    const other = uniqueTenant("cap-removed");
    const removed = await installProbe(other, "cap-removed", { storage: {} });
    await storageWith(removed).put("kept", true);

    await uninstall(other, "cap-removed");
    const message = await rejection(() => storageWith(removed).get("kept"));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });
});

describe("storage quota", () => {
  it("rejects a write over 1 MiB per installation and allows overwrites", async () => {
    const tenant = uniqueTenant("cap-quota");
    const props = await installProbe(tenant, "cap-quota", { storage: {} });
    const storage = storageWith(props);
    // 65,002 bytes once JSON-encoded: under the 64 KiB value limit, 16 fit in 1 MiB.
    const value = "v".repeat(65_000);

    for (let index = 0; index < 16; index += 1) await storage.put(`chunk-${index}`, value);
    const message = await rejection(() => storage.put("chunk-16", value));
    await storage.put("chunk-0", value);

    expect(message).toMatch(/^ERR_STORAGE_INVALID/);
    expect(message).toContain("quota");
    expect(await storage.get("chunk-16")).toBeNull();
  });
});

describe("tickets:read binding", () => {
  it("reads only its own tenant's tickets", async () => {
    const tenant = uniqueTenant("cap-tickets");
    const own = { ...(await installProbe(tenant, "cap-tickets", { "tickets:read": {} })), capability: "tickets:read" };

    const tickets = await exports.TicketsRead({ props: own }).list();
    const message = await rejection(() => exports.TicketsRead({ props: { ...own, tenant: uniqueTenant("cap-tickets-other") } }).list());

    expect(tickets.map((ticket) => ticket.title)).toEqual(["Identity probe"]);
    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });
});

describe("log tail", () => {
  it("appends the plugin's console output to its log", async () => {
    const tenant = uniqueTenant("cap-logs");
    await installProbe(tenant, "cap-logs", {});

    // Tail events arrive after the call returns; poll a bounded number of times.
    let messages: string[] = [];
    for (let attempt = 0; attempt < 50; attempt += 1) {
      messages = await logMessages(tenant, "cap-logs");
      if (messages.some((message) => message.startsWith("created ticket"))) break;
      await scheduler.wait(20);
    }

    expect(messages.some((message) => message.startsWith("created ticket"))).toBe(true);
  });

  it("cuts a long line to 1000 characters", async () => {
    const tenant = uniqueTenant("cap-long-log");
    await installProbe(tenant, "cap-long-log", {});

    await createTicket(tenant, { title: "Long log line" });
    let long: string | undefined;
    for (let attempt = 0; attempt < 50 && long === undefined; attempt += 1) {
      long = (await logMessages(tenant, "cap-long-log")).find((message) => message.startsWith("xxx"));
      if (long === undefined) await scheduler.wait(20);
    }

    expect(long).toHaveLength(1000);
  });
});
