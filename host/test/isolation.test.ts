import { beforeAll, describe, expect, it } from "vitest";

import { helpDesk } from "../src/demo/host.ts";
import { isolateId, type Installation } from "../src/framework/index.ts";
import { createTicket, hook, install, patchInstallation, pluginSource, publishPlugin, readPanel, uniqueTenant } from "./helpers/api.ts";

// Workers forbid random values in global scope, so the isolate's ID is drawn on
// the first call and then kept in module state for the life of the isolate.
const PROBE_SOURCE = pluginSource(
  {
    Hooks: `
      async remember(draft) {
        if (draft.tags.includes("remember")) await this.env.STORAGE.put("secret", draft.title);
        return draft;
      }
      async panel(ticket) {
        const report = {
          isolate: isolateId(),
          berth: this.env.BERTH,
          config: this.env.CONFIG,
          entries: await this.env.STORAGE.list(),
        };
        return [{ title: "probe", body: JSON.stringify(report) }];
      }`,
  },
  `let isolate;
  function isolateId() {
    isolate ??= crypto.randomUUID();
    return isolate;
  }`,
);

const PROBE_HOOKS = { "ticket.beforeCreate": hook("remember"), "ticket.panels": hook("panel") };

describe("two tenants with the same plugin version", () => {
  const tenantA = uniqueTenant("iso-a");
  const tenantB = uniqueTenant("iso-b");
  let reportA: any;
  let reportB: any;
  let ticketA: string;

  beforeAll(async () => {
    await publishPlugin({ name: "iso-tenants", source: PROBE_SOURCE, capabilities: { storage: {} }, hooks: PROBE_HOOKS });
    await install(tenantA, { name: "iso-tenants", grants: { storage: {} } });
    await install(tenantB, { name: "iso-tenants", grants: { storage: {} } });

    ticketA = (await createTicket(tenantA, { title: "secret of a", tags: ["remember"] })).body.ticket.id;
    const ticketB = (await createTicket(tenantB, { title: "plain ticket of b" })).body.ticket.id;
    reportA = await readPanel(tenantA, ticketA, "iso-tenants");
    reportB = await readPanel(tenantB, ticketB, "iso-tenants");
  });

  it("keeps one isolate per installation across calls", async () => {
    const again = await readPanel(tenantA, ticketA, "iso-tenants");

    expect(again.isolate).toBe(reportA.isolate);
  });

  it("runs each tenant in its own isolate", () => {
    expect(reportA.isolate).toMatch(/^[0-9a-f-]{36}$/);
    expect(reportB.isolate).toMatch(/^[0-9a-f-]{36}$/);
    expect(reportA.isolate).not.toBe(reportB.isolate);
  });

  it("gives each tenant its own identity in env", () => {
    expect(reportA.berth.tenant).toBe(tenantA);
    expect(reportB.berth.tenant).toBe(tenantB);
    expect(reportA.berth.installation).not.toBe(reportB.berth.installation);
    expect(reportA.berth).toMatchObject({ plugin: "iso-tenants", version: "1.0.0" });
  });

  it("hides a value stored in one tenant from the other", () => {
    expect(reportA.entries).toEqual([{ key: "secret", value: "secret of a" }]);
    expect(reportB.entries).toEqual([]);
  });
});

describe("isolate after a change", () => {
  it("loads a new isolate with the new config", async () => {
    const tenant = uniqueTenant("iso-config");
    await publishPlugin({
      name: "iso-config",
      source: PROBE_SOURCE,
      capabilities: { storage: {} },
      hooks: PROBE_HOOKS,
      config: { label: { type: "string" } },
    });
    await install(tenant, { name: "iso-config", grants: { storage: {} }, config: { label: "one" } });
    const ticket = (await createTicket(tenant, { title: "Config probe" })).body.ticket.id;
    const before = await readPanel(tenant, ticket, "iso-config");

    const patched = await patchInstallation(tenant, "iso-config", { config: { label: "two" } });
    const after = await readPanel(tenant, ticket, "iso-config");

    expect(patched.status).toBe(200);
    expect(before.config).toEqual({ label: "one" });
    expect(after.config).toEqual({ label: "two" });
    expect(after.isolate).not.toBe(before.isolate);
  });
});

describe("isolateId", () => {
  const base = {
    id: "5b0c6f5e-7d7b-4f43-9d7c-0a6a3c2f1e11",
    tenant: "acme",
    name: "iso-unit",
    version: "1.2.3",
    digest: "a".repeat(64),
    manifest: {} as Installation["manifest"],
    grants: { storage: {} },
    config: { label: "one" },
    state: "enabled",
    installedAt: 0,
    updatedAt: 0,
    revision: 1,
    consecutiveFailures: 0,
    lastError: null,
    egress: { allowed: 0, refused: 0 },
    pendingUpgrade: null,
  } as Installation;

  it("starts with name and version", async () => {
    expect(await isolateId(base, helpDesk)).toMatch(/^iso-unit:1\.2\.3:[0-9a-f]{32}$/);
  });

  it("returns the same ID for the same installation", async () => {
    expect(await isolateId({ ...base }, helpDesk)).toBe(await isolateId(base, helpDesk));
  });

  it.each([
    ["tenant", { tenant: "globex" }],
    ["installation", { id: "0d7e2a52-3b1f-4c1e-8f57-5a4d7d0e9b22" }],
    ["package digest", { digest: "b".repeat(64) }],
    ["grants", { grants: {} }],
    ["network hosts", { grants: { storage: {}, network: { hosts: ["a.example.test"] } } }],
    ["config", { config: { label: "two" } }],
  ])("changes with the %s", async (_field, change) => {
    expect(await isolateId({ ...base, ...change }, helpDesk)).not.toBe(await isolateId(base, helpDesk));
  });
});
