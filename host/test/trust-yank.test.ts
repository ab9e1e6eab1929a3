import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import type { RegistryObject } from "../src/framework/index.ts";
import { api, createTicket, getInstallation, hook, install, makePackage, patchInstallation, pluginSource, publish, uniqueTenant } from "./helpers/api.ts";

const HOOKS = { "ticket.beforeCreate": hook("tag") };

function taggerSource(tag: string): string {
  return pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "${tag}"] }; }` });
}

/** Publishes `name` at each version, tagging tickets with `v` and the version's dots as hyphens. */
async function publishVersions(name: string, versions: string[]): Promise<void> {
  for (const version of versions) await publish(await makePackage({ name, version, source: taggerSource(`v${version.replaceAll(".", "-")}`), hooks: HOOKS }));
}

async function yank(name: string, version: string, reason = "crashes on every ticket") {
  return api("POST", `/v1/plugins/${name}/${version}/yank`, { reason });
}

function catalogue(): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName("catalogue"));
}

describe("POST /v1/plugins/:name/:version/yank", () => {
  it("stops dispatch of the version in every tenant at once", async () => {
    await publishVersions("yank-all", ["1.0.0", "2.0.0"]);
    const tenants = [uniqueTenant("yank-all"), uniqueTenant("yank-all"), uniqueTenant("yank-all")];
    for (const tenant of tenants) await install(tenant, { name: "yank-all", version: "1.0.0" });

    const yanked = await yank("yank-all", "1.0.0");

    expect(yanked.status).toBe(200);
    expect(yanked.body.yanked).toMatchObject({ name: "yank-all", version: "1.0.0", reason: "crashes on every ticket" });
    expect(yanked.body.installations.map((entry: { tenant: string; outcome: string }) => [entry.tenant, entry.outcome]).sort()).toEqual(
      tenants.map((tenant) => [tenant, "disabled"]).sort(),
    );
    for (const tenant of tenants) {
      const ticket = await createTicket(tenant, { title: "After the yank" });
      const installation = (await getInstallation(tenant, "yank-all")).body.installation;
      expect(ticket.body.ticket.tags).toEqual([]);
      expect(ticket.body.hooks.beforeCreate).toEqual([]);
      expect(installation.state).toBe("disabled");
      expect(installation.lastError).toMatchObject({ code: "ERR_PACKAGE_YANKED", during: "yank" });
      expect(installation.lastError.message).toContain("crashes on every ticket");
    }
  });

  it("lets a tenant upgrade away", async () => {
    await publishVersions("yank-away", ["1.0.0", "2.0.0"]);
    const tenant = uniqueTenant("yank-away");
    await install(tenant, { name: "yank-away", version: "1.0.0" });
    await yank("yank-away", "1.0.0");

    const upgraded = await patchInstallation(tenant, "yank-away", { version: "2.0.0", state: "enabled" });
    const ticket = await createTicket(tenant, { title: "After the upgrade" });

    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation).toMatchObject({ version: "2.0.0", state: "enabled" });
    expect(ticket.body.ticket.tags).toEqual(["v2-0-0"]);
  });

  it("keeps the yanked version disabled", async () => {
    await publishVersions("yank-enable", ["1.0.0"]);
    const tenant = uniqueTenant("yank-enable");
    await install(tenant, { name: "yank-enable" });
    await yank("yank-enable", "1.0.0");

    const enabled = await patchInstallation(tenant, "yank-enable", { state: "enabled" });
    const current = await getInstallation(tenant, "yank-enable");

    expect(enabled.status).toBe(410);
    expect(enabled.body.error.code).toBe("ERR_PACKAGE_YANKED");
    expect(current.body.installation.state).toBe("disabled");
  });

  it("refuses to load the version in a tenant the index missed", async () => {
    await publishVersions("yank-load", ["1.0.0"]);
    const tenant = uniqueTenant("yank-load");
    await install(tenant, { name: "yank-load" });
    await catalogue().untrack({ tenant, name: "yank-load", version: "1.0.0" });

    const yanked = await yank("yank-load", "1.0.0");
    const ticket = await createTicket(tenant, { title: "Load after the yank" });
    const installation = (await getInstallation(tenant, "yank-load")).body.installation;

    expect(yanked.body.installations).toEqual([]);
    expect(ticket.body.ticket.tags).toEqual([]);
    expect(ticket.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "yank-load", status: "failed", error: { code: "ERR_PACKAGE_YANKED" } });
    expect(installation.state).toBe("disabled");
    expect(installation.lastError.code).toBe("ERR_PACKAGE_YANKED");
  });

  it("drops a pending upgrade to the yanked version", async () => {
    await publish(await makePackage({ name: "yank-pending", version: "1.0.0", source: taggerSource("v1"), hooks: HOOKS }));
    await publish(await makePackage({ name: "yank-pending", version: "2.0.0", source: taggerSource("v2"), hooks: HOOKS, capabilities: { storage: {} } }));
    const tenant = uniqueTenant("yank-pending");
    await install(tenant, { name: "yank-pending", version: "1.0.0" });
    const waiting = await patchInstallation(tenant, "yank-pending", { version: "2.0.0" });

    await yank("yank-pending", "2.0.0");
    const installation = (await getInstallation(tenant, "yank-pending")).body.installation;

    expect(waiting.body.installation.pendingUpgrade.version).toBe("2.0.0");
    expect(installation.pendingUpgrade).toBeNull();
    expect(installation.state).toBe("enabled");
    expect(installation.version).toBe("1.0.0");
  });

  it("refuses an exact install of the version and skips it in ranges", async () => {
    await publishVersions("yank-resolve", ["1.0.0", "1.1.0"]);
    await yank("yank-resolve", "1.1.0");

    const exact = await api("POST", `/v1/tenants/${uniqueTenant("yank-resolve")}/installations`, { name: "yank-resolve", version: "1.1.0" });
    const range = await api("POST", `/v1/tenants/${uniqueTenant("yank-resolve")}/installations`, { name: "yank-resolve", version: "^1.0.0" });

    expect(exact.status).toBe(410);
    expect(exact.body.error.code).toBe("ERR_PACKAGE_YANKED");
    expect(range.status).toBe(201);
    expect(range.body.installation.version).toBe("1.0.0");
  });

  it("shows the yank in the catalogue", async () => {
    await publishVersions("yank-listed", ["1.0.0", "1.1.0"]);
    await yank("yank-listed", "1.1.0", "wrong license file");

    const listed = await api("GET", "/v1/plugins");
    const plugin = listed.body.plugins.find((entry: { name: string }) => entry.name === "yank-listed");
    const version = await api("GET", "/v1/plugins/yank-listed/1.1.0");

    expect(plugin).toMatchObject({ latest: "1.0.0", versions: ["1.1.0", "1.0.0"], yanked: ["1.1.0"] });
    expect(version.status).toBe(200);
    expect(version.body.yanked).toMatchObject({ reason: "wrong license file" });
  });

  it("keeps the first reason when yanked twice", async () => {
    await publishVersions("yank-twice", ["1.0.0"]);
    await yank("yank-twice", "1.0.0", "first reason");

    const again = await yank("yank-twice", "1.0.0", "second reason");

    expect(again.status).toBe(200);
    expect(again.body.yanked.reason).toBe("first reason");
  });

  it.each([
    ["an unknown version", "/v1/plugins/yank-missing/9.9.9/yank", { reason: "x" }, 404, "ERR_PLUGIN_NOT_FOUND"],
    ["a range", "/v1/plugins/yank-missing/%5E1.0.0/yank", { reason: "x" }, 400, "ERR_REQUEST_INVALID"],
    ["a missing reason", "/v1/plugins/yank-missing/1.0.0/yank", {}, 400, "ERR_REQUEST_INVALID"],
  ])("rejects %s", async (_label, path, body, status, code) => {
    const response = await api("POST", path, body);

    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });
});
