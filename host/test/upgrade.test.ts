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
  readPanel,
  uniqueTenant,
} from "./helpers/api.ts";

/**
 * Returns plugin source whose filter tags each ticket with `tag` and stores it,
 * whose panel reports all of its storage, and whose upgrade hook stores its
 * context, or throws when `failUpgrade` is set.
 */
function versionSource(tag: string, failUpgrade = false): string {
  return pluginSource({
    Hooks: `
      async tag(draft) {
        await this.env.STORAGE.put("last-tag", "${tag}");
        return { ...draft, tags: [...draft.tags, "${tag}"] };
      }
      async panel(ticket) {
        return [{ title: "storage", body: JSON.stringify(await this.env.STORAGE.list()) }];
      }`,
    Lifecycle: `
      async upgrade(context) {
        if (${failUpgrade}) throw new Error("the upgrade hook refuses");
        await this.env.STORAGE.put("upgrade", { event: context.event, version: context.version, previousVersion: context.previousVersion });
      }`,
  });
}

const HOOKS = { "ticket.beforeCreate": hook("tag"), "ticket.panels": hook("panel") };
const LIFECYCLE = { entrypoint: "Lifecycle", events: ["upgrade" as const] };

/** Publishes 1.0.0 and 2.0.0 of `name` with different code and installs 1.0.0 in a new tenant. */
async function installVersionOne(name: string, second: Record<string, unknown> = {}): Promise<string> {
  await publishPlugin({ name, version: "1.0.0", source: versionSource("v1"), capabilities: { storage: {} }, hooks: HOOKS, lifecycle: LIFECYCLE });
  await publishPlugin({ name, version: "2.0.0", source: versionSource("v2"), capabilities: { storage: {} }, hooks: HOOKS, lifecycle: LIFECYCLE, ...second });
  const tenant = uniqueTenant(name);
  await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });
  return tenant;
}

/** Returns the storage entries a plugin's panel reports, as an object. */
async function storageOf(tenant: string, ticketId: string, plugin: string): Promise<Record<string, unknown>> {
  const entries: { key: string; value: unknown }[] = await readPanel(tenant, ticketId, plugin);
  return Object.fromEntries(entries.map((entry) => [entry.key, entry.value]));
}

describe("PATCH version", () => {
  it("runs the new code on the next ticket", async () => {
    const tenant = await installVersionOne("up-code");
    const before = await createTicket(tenant, { title: "Before upgrade" });

    const upgraded = await patchInstallation(tenant, "up-code", { version: "2.0.0" });
    const after = await createTicket(tenant, { title: "After upgrade" });

    expect(before.body.ticket.tags).toEqual(["v1"]);
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation.version).toBe("2.0.0");
    expect(after.body.ticket.tags).toEqual(["v2"]);
    expect(after.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "up-code", version: "2.0.0", status: "ok" });
  });

  it("passes the previous version to the upgrade hook", async () => {
    const tenant = await installVersionOne("up-previous");

    await patchInstallation(tenant, "up-previous", { version: "2.0.0" });
    const ticket = await createTicket(tenant, { title: "Read the upgrade record" });
    const storage = await storageOf(tenant, ticket.body.ticket.id, "up-previous");

    expect(storage["upgrade"]).toEqual({ event: "upgrade", version: "2.0.0", previousVersion: "1.0.0" });
  });

  it("keeps the installation's storage", async () => {
    const tenant = await installVersionOne("up-storage");
    await createTicket(tenant, { title: "Written by 1.0.0" });

    await patchInstallation(tenant, "up-storage", { version: "2.0.0" });
    // No ticket was created since the upgrade, so last-tag is still what 1.0.0 stored.
    const tickets = await api("GET", `/v1/tenants/${tenant}/tickets`);
    const storage = await storageOf(tenant, tickets.body.tickets[0].id, "up-storage");

    expect(storage["last-tag"]).toBe("v1");
  });

  it("rejects a downgrade", async () => {
    const tenant = await installVersionOne("up-down");
    await patchInstallation(tenant, "up-down", { version: "2.0.0" });

    const downgraded = await patchInstallation(tenant, "up-down", { version: "1.0.0" });
    const current = await getInstallation(tenant, "up-down");

    expect(downgraded.status).toBe(409);
    expect(downgraded.body.error.code).toBe("ERR_UPGRADE_NOT_GREATER");
    expect(downgraded.body.error.path).toBe("version");
    expect(downgraded.body.error.message).toContain("2.0.0");
    expect(current.body.installation.version).toBe("2.0.0");
  });

  it("rejects the installed version", async () => {
    const tenant = await installVersionOne("up-same");

    const response = await patchInstallation(tenant, "up-same", { version: "1.0.0" });

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe("ERR_UPGRADE_NOT_GREATER");
  });

  it("keeps the old version when the upgrade hook fails", async () => {
    const name = "up-hook-fails";
    await publishPlugin({ name, version: "1.0.0", source: versionSource("v1"), capabilities: { storage: {} }, hooks: HOOKS, lifecycle: LIFECYCLE });
    await publishPlugin({ name, version: "2.0.0", source: versionSource("v2", true), capabilities: { storage: {} }, hooks: HOOKS, lifecycle: LIFECYCLE });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });

    const response = await patchInstallation(tenant, name, { version: "2.0.0" });
    const current = await getInstallation(tenant, name);
    const ticket = await createTicket(tenant, { title: "Still on 1.0.0" });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(response.body.error.message).toContain("the upgrade hook refuses");
    expect(current.body.installation.version).toBe("1.0.0");
    expect(ticket.body.ticket.tags).toEqual(["v1"]);
  });

  it("keeps the old version until a new capability is granted", async () => {
    const tenant = await installVersionOne("up-consent", { capabilities: { storage: {}, "tickets:read": {} } });

    const withoutConsent = await patchInstallation(tenant, "up-consent", { version: "2.0.0" });
    const current = await getInstallation(tenant, "up-consent");
    const ticket = await createTicket(tenant, { title: "Still on 1.0.0" });
    const granted = await patchInstallation(tenant, "up-consent", { version: "2.0.0", grants: { storage: {}, "tickets:read": {} } });

    // Without consent the host may reject the upgrade or hold it as pending; either way 1.0.0 keeps running.
    expect(withoutConsent.status).toBeLessThan(500);
    expect(current.body.installation.version).toBe("1.0.0");
    expect(current.body.installation.grants).toEqual({ storage: {} });
    expect(ticket.body.ticket.tags).toEqual(["v1"]);
    expect(granted.status).toBe(200);
    expect(granted.body.installation.version).toBe("2.0.0");
    expect(granted.body.installation.grants).toEqual({ storage: {}, "tickets:read": {} });
  });

  it("grants no new hosts without consent", async () => {
    const name = "up-hosts";
    const versionOne = { storage: {}, network: { hosts: ["a.example.test"] } };
    const versionTwo = { storage: {}, network: { hosts: ["a.example.test", "b.example.test"] } };
    await publishPlugin({ name, version: "1.0.0", source: versionSource("v1"), capabilities: versionOne, hooks: HOOKS, lifecycle: LIFECYCLE });
    await publishPlugin({ name, version: "2.0.0", source: versionSource("v2"), capabilities: versionTwo, hooks: HOOKS, lifecycle: LIFECYCLE });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {}, network: {} } });

    const upgrade = await patchInstallation(tenant, name, { version: "2.0.0" });
    const current = await getInstallation(tenant, name);

    expect(upgrade.status).toBeLessThan(500);
    expect(current.body.installation.grants.network).toEqual({ hosts: ["a.example.test"] });
  });

  it("narrows the kept hosts when the new version requests fewer", async () => {
    const name = "up-fewer-hosts";
    const versionOne = { storage: {}, network: { hosts: ["*.example.test"] } };
    const versionTwo = { storage: {}, network: { hosts: ["a.example.test"] } };
    await publishPlugin({ name, version: "1.0.0", source: versionSource("v1"), capabilities: versionOne, hooks: HOOKS, lifecycle: LIFECYCLE });
    await publishPlugin({ name, version: "2.0.0", source: versionSource("v2"), capabilities: versionTwo, hooks: HOOKS, lifecycle: LIFECYCLE });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {}, network: {} } });

    const upgraded = await patchInstallation(tenant, name, { version: "2.0.0" });

    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation.grants.network).toEqual({ hosts: ["a.example.test"] });
  });
});
