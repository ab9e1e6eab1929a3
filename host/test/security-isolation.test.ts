import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import { LIMITS, isModuleName, sha256Hex } from "@berth/plugin-sdk/package";
import {
  api,
  createTicket,
  getInstallation,
  hook,
  install,
  logMessages,
  makePackage,
  patchInstallation,
  pluginSource,
  publishPlugin,
  readPanel,
  uninstall,
  uniqueTenant,
} from "./helpers/api.ts";

// Stores "<plugin>: <title>" under the ticket's first tag as key, and reports all of its storage in a panel.
const STORE_SOURCE = pluginSource({
  Hooks: `
    async remember(draft) {
      if (draft.tags.length > 0) await this.env.STORAGE.put(draft.tags[0], this.env.BERTH.plugin + ": " + draft.title);
      return draft;
    }
    async panel(ticket) {
      return [{ title: "storage", body: JSON.stringify(await this.env.STORAGE.list()) }];
    }`,
});

const STORE_HOOKS = { "ticket.beforeCreate": hook("remember"), "ticket.panels": hook("panel") };

async function publishStore(name: string): Promise<void> {
  await publishPlugin({ name, source: `${STORE_SOURCE}// ${name}\n`, capabilities: { storage: {} }, hooks: STORE_HOOKS });
}

describe("plugin storage keys", () => {
  it("never collide between plugins whose names and keys join alike", async () => {
    // "st-join" + "b-x" and "st-join-b" + "x" would meet as "st-join-b-x" if keys were built by joining names.
    await publishStore("st-join");
    await publishStore("st-join-b");
    const tenant = uniqueTenant("st-join");
    await install(tenant, { name: "st-join", grants: { storage: {} } });
    await install(tenant, { name: "st-join-b", grants: { storage: {} } });

    await createTicket(tenant, { title: "written under b-x", tags: ["b-x"] });
    await createTicket(tenant, { title: "written under x", tags: ["x"] });
    const ticket = (await createTicket(tenant, { title: "read back" })).body.ticket.id;

    expect(await readPanel(tenant, ticket, "st-join")).toEqual([
      { key: "b-x", value: "st-join: written under b-x" },
      { key: "x", value: "st-join: written under x" },
    ]);
    expect(await readPanel(tenant, ticket, "st-join-b")).toEqual([
      { key: "b-x", value: "st-join-b: written under b-x" },
      { key: "x", value: "st-join-b: written under x" },
    ]);
  });

  it("belong to one installation, not to the plugin name", async () => {
    await publishStore("st-owner");
    await publishStore("st-neighbour");
    const tenant = uniqueTenant("st-owner");
    await install(tenant, { name: "st-owner", grants: { storage: {} } });
    await createTicket(tenant, { title: "owner's secret", tags: ["secret"] });

    await install(tenant, { name: "st-neighbour", grants: { storage: {} } });
    const ticket = (await createTicket(tenant, { title: "read back" })).body.ticket.id;

    expect(await readPanel(tenant, ticket, "st-owner")).toEqual([{ key: "secret", value: "st-owner: owner's secret" }]);
    expect(await readPanel(tenant, ticket, "st-neighbour")).toEqual([]);
  });

  it("never cross tenants with the same tenant-looking key", async () => {
    await publishStore("st-tenants");
    const tenantA = uniqueTenant("st-a");
    const tenantB = uniqueTenant("st-b");
    await install(tenantA, { name: "st-tenants", grants: { storage: {} } });
    await install(tenantB, { name: "st-tenants", grants: { storage: {} } });

    await createTicket(tenantA, { title: "only for a", tags: [tenantB.slice(0, 32)] });
    const ticketB = (await createTicket(tenantB, { title: "read back" })).body.ticket.id;

    expect(await readPanel(tenantB, ticketB, "st-tenants")).toEqual([]);
  });

  it("start empty after a reinstall", async () => {
    await publishStore("st-reinstall");
    const tenant = uniqueTenant("st-reinstall");
    await install(tenant, { name: "st-reinstall", grants: { storage: {} } });
    await createTicket(tenant, { title: "before uninstall", tags: ["kept"] });

    await uninstall(tenant, "st-reinstall");
    await install(tenant, { name: "st-reinstall", grants: { storage: {} } });
    const ticket = (await createTicket(tenant, { title: "read back" })).body.ticket.id;

    expect(await readPanel(tenant, ticket, "st-reinstall")).toEqual([]);
  });
});

describe("module names", () => {
  it.each([
    ["index.js", true],
    ["index.mjs", true],
    ["lib/util.js", true],
    ["a_b-c.d.js", true],
    ["deep/er/path/x.mjs", true],
    ["../x.js", false],
    ["./x.js", false],
    ["a/../x.js", false],
    ["a/./x.js", false],
    ["/x.js", false],
    ["a//x.js", false],
    ["a\\x.js", false],
    ["x.ts", false],
    ["x.JS", false],
    ["x.js/", false],
    [".hidden.js", false],
    ["x.js\n", false],
    ["x\u0000.js", false],
    ["%2e%2e/x.js", false],
    ["C:/x.js", false],
    ["ünïcode.js", false],
    ["a b.js", false],
    ["", false],
    [`${"a".repeat(LIMITS.moduleName - 3)}.js`, true],
    [`${"a".repeat(LIMITS.moduleName - 2)}.js`, false],
  ])("%j is %s", (name, valid) => {
    expect(isModuleName(name)).toBe(valid);
  });
});

describe("stored code changed after publish", () => {
  it("disables the installation and says why", async () => {
    const source = pluginSource({ Hooks: 'async tag(draft) { return { ...draft, tags: [...draft.tags, "honest"] }; }' }, `// ${crypto.randomUUID()}`);
    await publishPlugin({ name: "code-swap", source, hooks: { "ticket.beforeCreate": hook("tag") } });
    const tenant = uniqueTenant("code-swap");
    await install(tenant, { name: "code-swap" });
    await env.PACKAGES.put(`modules/sha256/${await sha256Hex(source)}`, source.replace("honest", "evil"));

    const ticket = await createTicket(tenant, { title: "After the swap" });
    const installation = (await getInstallation(tenant, "code-swap")).body.installation;
    const logs = await logMessages(tenant, "code-swap");

    expect(ticket.body.ticket.tags).toEqual([]);
    expect(installation.state).toBe("disabled");
    expect(installation.lastError.code).toBe("ERR_PACKAGE_CODE_ALTERED");
    expect(installation.lastError.message).toContain("no longer matches its signed digest");
    expect(logs.some((line) => line.includes("ERR_PACKAGE_CODE_ALTERED") && line.includes("no longer matches its signed digest"))).toBe(true);
  });

  it("stays refused after the installation is enabled again", async () => {
    const source = pluginSource({ Hooks: 'async tag(draft) { return { ...draft, tags: [...draft.tags, "honest"] }; }' }, `// ${crypto.randomUUID()}`);
    await publishPlugin({ name: "code-swap-again", source, hooks: { "ticket.beforeCreate": hook("tag") } });
    const tenant = uniqueTenant("code-swap-again");
    await install(tenant, { name: "code-swap-again" });
    await env.PACKAGES.put(`modules/sha256/${await sha256Hex(source)}`, source.replace("honest", "evil"));
    await createTicket(tenant, { title: "Disables it" });

    const enabled = await patchInstallation(tenant, "code-swap-again", { state: "enabled" });
    const ticket = await createTicket(tenant, { title: "Runs again?" });
    const installation = (await getInstallation(tenant, "code-swap-again")).body.installation;

    expect(enabled.status).toBe(200);
    expect(ticket.body.ticket.tags).toEqual([]);
    expect(ticket.body.hooks.beforeCreate[0]).toMatchObject({ status: "failed", error: { code: "ERR_PACKAGE_CODE_ALTERED" } });
    expect(installation.state).toBe("disabled");
  });
});

describe("request bodies", () => {
  it.each([
    ["33 levels of arrays", `{"name":"x","config":{"a":${"[".repeat(33)}${"]".repeat(33)}}}`, 400, "ERR_REQUEST_TOO_DEEP"],
    ["deep brackets inside a string", `{"name":"never-published","config":{"a":"${"[".repeat(200)}"}}`, 404, "ERR_PLUGIN_NOT_FOUND"],
    ["escaped quotes before deep brackets", `{"name":"x","config":{"a":"\\\\\\"","b":${"[".repeat(40)}${"]".repeat(40)}}}`, 400, "ERR_REQUEST_TOO_DEEP"],
  ])("with %s gets %i", async (_label, body, status, code) => {
    const response = await api("POST", `/v1/tenants/${uniqueTenant("body")}/installations`, body);

    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it("over 64 KiB gets 413", async () => {
    const response = await api("POST", `/v1/tenants/${uniqueTenant("body")}/installations`, { name: "x", config: { a: "x".repeat(70_000) } });

    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("ERR_REQUEST_TOO_LARGE");
  });
});

describe("network grants to internal addresses", () => {
  // The manifest cannot request these hosts, and a grant must be covered by the
  // request, so no grant reaches them either.
  it.each(["127.0.0.1", "169.254.169.254", "localhost", "10.0.0.1"])("rejects a grant of %s", async (address) => {
    const tenant = uniqueTenant("grant-internal");
    await publishPlugin({ name: "grant-internal", source: pluginSource({ Hooks: "async sent() {}" }), capabilities: { network: { hosts: ["*.example.test"] } }, hooks: { "ticket.created": hook("sent") } });

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "grant-internal", grants: { network: { hosts: [address] } } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_WIDER_THAN_REQUEST");
    expect(response.body.error.message).toContain(address);
  });

  it("rejects a manifest that requests the metadata address", async () => {
    const response = await api(
      "POST",
      "/v1/plugins",
      await makePackage({ name: "request-metadata", source: pluginSource({ Hooks: "async sent() {}" }), capabilities: { network: { hosts: ["169.254.169.254"] } }, hooks: { "ticket.created": hook("sent") } }),
    );

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_MANIFEST_INVALID");
    expect(response.body.error.path).toBe("manifest.capabilities.network.hosts.0");
    expect(response.body.error.message).toContain("not an IP address");
  });
});
