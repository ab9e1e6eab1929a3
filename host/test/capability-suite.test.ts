/**
 * One suite run against every capability the host offers. Each row contains the
 * plugin code that uses the capability and a direct call of its entrypoint with
 * given props, and the same checks run for every row. A new capability needs one row.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { helpDesk } from "../src/demo/host.ts";
import { api, createTicket, hook, install, logMessages, patchInstallation, pluginSource, publishPlugin, readPanel, uninstall, uniqueTenant } from "./helpers/api.ts";
import { pollUntil, rejection, tenantTables } from "./helpers/checks.ts";

/** Options of a loopback binding; `props` is left out to make a binding without props. */
type BindingOptions = { props?: unknown };

interface CapabilityCase {
  capability: string;
  /** The manifest request, without `optional`. */
  request: Record<string, unknown>;
  /** The plugin's `env` entry, or null for `network`, which is the plugin's `fetch`. */
  binding: string | null;
  /** Body of an async function of `env` that uses the capability and returns a JSON value. */
  use: string;
  /** What `use` returns with the grant. */
  granted: unknown;
  /** Part of the error message `use` throws without the grant. */
  withoutGrant: string;
  /** Calls the capability's entrypoint the way the plugin's binding would. */
  call: (options: BindingOptions) => Promise<unknown>;
  /** Pattern of the `options` text in `GET /v1/capabilities`, or null when the capability takes none. */
  options: RegExp | null;
}

const CASES: CapabilityCase[] = [
  {
    capability: "storage",
    request: {},
    binding: "STORAGE",
    use: `await env.STORAGE.put("suite", { written: true }); return await env.STORAGE.get("suite");`,
    granted: { written: true },
    withoutGrant: "Cannot read properties of undefined",
    call: (options) => exports.BerthStorage(options as never).get("suite"),
    options: null,
  },
  {
    capability: "network",
    request: { hosts: ["*.example.test"] },
    binding: null,
    use: `const response = await fetch("https://suite.example.test/probe", { method: "POST", body: "probe" }); return response.status;`,
    granted: 202,
    withoutGrant: "not permitted to access the internet",
    call: (options) => exports.DemoEgress(options as never).fetch("https://suite.example.test/direct", { method: "POST", body: "direct" }),
    options: /^hosts: a list of lower-case host names/,
  },
  {
    capability: "tickets:read",
    request: {},
    binding: "TICKETS_READ",
    use: `return (await env.TICKETS_READ.list()).map((ticket) => ticket.title);`,
    granted: ["Suite probe"],
    withoutGrant: "Cannot read properties of undefined",
    call: (options) => exports.TicketsRead(options as never).list(),
    options: null,
  },
  {
    capability: "tickets:write",
    request: {},
    binding: "TICKETS_WRITE",
    use: `return (await env.TICKETS_WRITE.create({ title: "Written by the plugin" })).title;`,
    granted: "Written by the plugin",
    withoutGrant: "Cannot read properties of undefined",
    call: (options) => exports.TicketsWrite(options as never).create({ title: "Written directly" }),
    options: null,
  },
];

/**
 * Returns plugin source whose panel uses the capability and reports its `env`
 * keys, its identity and what the use returned or threw.
 */
function probeSource(use: string): string {
  return pluginSource({
    Hooks: `
      async panel(ticket) {
        const report = { keys: Object.keys(this.env).sort(), identity: this.env.BERTH };
        try {
          report.value = await (async (env) => { ${use} })(this.env);
        } catch (error) {
          report.error = String(error && error.message ? error.message : error);
        }
        return [{ title: "probe", body: JSON.stringify(report) }];
      }`,
  });
}

/** Creates a ticket and returns what the probe's panel reports on it. */
async function runProbe(tenant: string, plugin: string): Promise<{ keys: string[]; identity: Record<string, string>; value?: unknown; error?: string }> {
  const created = await createTicket(tenant, { title: "Suite probe" });
  return readPanel(tenant, created.body.ticket.id, plugin);
}

/** Returns a name for a row's plugin, such as `suite-tickets-read`. */
function pluginName(capability: string): string {
  return `suite-${capability.replace(/[^a-z0-9]+/g, "-")}`;
}

describe("capability suite", () => {
  it("has one row per capability the host offers", () => {
    const rows = CASES.map((row) => row.capability).sort();

    expect(rows).toEqual([...helpDesk.capabilities.keys()].sort());
  });
});

describe.each(CASES)("capability $capability", (row) => {
  const plugin = pluginName(row.capability);
  // Props of a live installation holding the grant; the bad-props cases alter them.
  let liveProps: Record<string, unknown>;

  beforeAll(async () => {
    await publishPlugin({
      name: plugin,
      source: probeSource(row.use),
      capabilities: { [row.capability]: { ...row.request, optional: true } },
      hooks: { "ticket.panels": hook("panel") },
    });
    const tenant = uniqueTenant(`${plugin}-live`);
    const installed = await install(tenant, { name: plugin, grants: { [row.capability]: {} } });
    const report = await runProbe(tenant, plugin);
    liveProps = { ...report.identity, capability: row.capability, grant: installed.grants[row.capability] };
  });

  it("is listed in the catalogue", async () => {
    const response = await api("GET", "/v1/capabilities");
    const entry = response.body.capabilities.find((capability: { name: string }) => capability.name === row.capability);

    expect(entry).toBeDefined();
    expect(entry.description).toEqual(expect.any(String));
    expect(entry.binding).toBe(row.binding);
    expect(entry.takesHosts).toBe("hosts" in row.request);
    if (row.options === null) expect(entry.options).toBeNull();
    else expect(entry.options).toMatch(row.options);
  });

  it("works when granted", async () => {
    const tenant = uniqueTenant(`${plugin}-granted`);
    await install(tenant, { name: plugin, grants: { [row.capability]: {} } });

    const report = await runProbe(tenant, plugin);

    expect(report.error).toBeUndefined();
    expect(report.value).toEqual(row.granted);
    if (row.binding !== null) expect(report.keys).toContain(row.binding);
  });

  it("has no binding when not granted", async () => {
    const tenant = uniqueTenant(`${plugin}-bare`);
    await install(tenant, { name: plugin });

    const report = await runProbe(tenant, plugin);

    expect(report.keys).toEqual(["BERTH", "CONFIG"]);
    expect(report.value).toBeUndefined();
    expect(report.error).toContain(row.withoutGrant);
  });

  it("accepts its own props when called directly", async () => {
    await expect(row.call({ props: liveProps })).resolves.toBeDefined();
  });

  it.each([
    ["no props", () => ({})],
    ["props with an unknown key", () => ({ props: { bogus: true } })],
    ["props missing the tenant", () => ({ props: { ...liveProps, tenant: undefined } })],
    ["props whose installation is not a UUID", () => ({ props: { ...liveProps, installation: "not-a-uuid" } })],
    ["props with an extra key", () => ({ props: { ...liveProps, admin: true } })],
    ["props whose grant hosts are not a list", () => ({ props: { ...liveProps, grant: { hosts: "a.example.test" } } })],
    ["props made for another capability", () => ({ props: { ...liveProps, capability: row.capability === "storage" ? "tickets:read" : "storage" } })],
  ])("rejects %s", async (_case, options) => {
    const message = await rejection(() => row.call(options()));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("rejects the props of a revoked grant", async () => {
    const tenant = uniqueTenant(`${plugin}-revoked`);
    const installed = await install(tenant, { name: plugin, grants: { [row.capability]: {} } });
    const report = await runProbe(tenant, plugin);
    const props = { ...report.identity, capability: row.capability, grant: installed.grants[row.capability] };
    await row.call({ props });

    const revoked = await patchInstallation(tenant, plugin, { grants: {} });
    const message = await rejection(() => row.call({ props }));

    expect(revoked.status).toBe(200);
    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });

  it("rejects the props of an uninstalled installation", async () => {
    const tenant = uniqueTenant(`${plugin}-removed`);
    const installed = await install(tenant, { name: plugin, grants: { [row.capability]: {} } });
    const report = await runProbe(tenant, plugin);
    const props = { ...report.identity, capability: row.capability, grant: installed.grants[row.capability] };

    await uninstall(tenant, plugin);
    const message = await rejection(() => row.call({ props }));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });

  it("rejects its props sent to another tenant", async () => {
    const message = await rejection(() => row.call({ props: { ...liveProps, tenant: uniqueTenant(`${plugin}-other`) } }));

    expect(message).toMatch(/^ERR_CAPABILITY_NOT_GRANTED/);
  });
});

// The log tail is not a grantable capability: every plugin has one. The checks
// that apply to it are the props checks, and that an uninstalled installation's
// lines are not stored.
describe("log tail", () => {
  const plugin = "suite-log-tail";
  const tenant = uniqueTenant(plugin);
  let liveProps: Record<string, unknown>;

  /** Returns one tail event with a single console line. */
  function event(message: string): unknown[] {
    return [{ logs: [{ level: "log", message: [message], timestamp: Date.now() }], exceptions: [] }];
  }

  /** Sends one tail event with `message` to the log tail made with `options`. */
  function tail(options: BindingOptions, message: string): Promise<unknown> {
    return exports.BerthLogTail(options as never).tail(event(message) as TraceItem[]);
  }

  beforeAll(async () => {
    await publishPlugin({ name: plugin, source: probeSource("return null;"), hooks: { "ticket.panels": hook("panel") } });
    await install(tenant, { name: plugin });
    const report = await runProbe(tenant, plugin);
    liveProps = { ...report.identity, capability: "logs", grant: {} };
  });

  it("appends lines sent with its own props", async () => {
    await tail({ props: liveProps }, "sent directly to the tail");

    const messages = await pollUntil(
      () => logMessages(tenant, plugin),
      (lines) => lines.includes("sent directly to the tail"),
    );

    expect(messages).toContain("sent directly to the tail");
  });

  it.each([
    ["no props", () => ({})],
    ["props with an unknown key", () => ({ props: { bogus: true } })],
    ["props whose installation is not a UUID", () => ({ props: { ...liveProps, installation: "not-a-uuid" } })],
    ["props made for a capability", () => ({ props: { ...liveProps, capability: "storage" } })],
  ])("rejects %s", async (_case, options) => {
    const message = await rejection(() => tail(options(), "bad props"));

    expect(message).toMatch(/^ERR_CAPABILITY_PROPS_INVALID/);
  });

  it("stores nothing for an uninstalled installation", async () => {
    const other = uniqueTenant(`${plugin}-removed`);
    await install(other, { name: plugin });
    const report = await runProbe(other, plugin);
    const props = { ...report.identity, capability: "logs", grant: {} };

    await uninstall(other, plugin);
    await tail({ props }, "after uninstall");
    const tables = await tenantTables(other);

    expect(tables.installations).toEqual([]);
    expect(tables.orphanLogs).toBe(0);
  });
});
