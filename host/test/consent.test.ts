/**
 * Consent: upgrades that ask for more than the tenant granted wait for PATCH
 * `consent`, and a reinstall starts from nothing. Install-time grants and PATCH
 * grants (including narrowing a network grant) are covered in grants.test.ts.
 */
import { describe, expect, it } from "vitest";

import {
  api,
  createTicket,
  getInstallation,
  hook,
  install,
  logMessages,
  patchInstallation,
  pluginSource,
  publishPlugin,
  readInbox,
  readPanel,
  uninstall,
  uniqueTenant,
} from "./helpers/api.ts";
import { tenantTables } from "./helpers/checks.ts";

/**
 * Returns plugin source that tags each ticket with `tag` in its filter. Its event
 * hook stores the ticket's title and POSTs to it when it is an https URL. Its
 * panel reports its env keys and storage, and its upgrade hook stores its context.
 */
function versionSource(tag: string): string {
  return pluginSource({
    Hooks: `
      async tag(draft) {
        return { ...draft, tags: [...draft.tags, "${tag}"] };
      }
      async send(ticket) {
        await this.env.STORAGE.put("last-ticket", ticket.title);
        if (!ticket.title.startsWith("https://")) return;
        const response = await fetch(ticket.title, { method: "POST", body: "${tag}" });
        if (response.status !== 202) throw new Error("unexpected status " + response.status);
      }
      async panel(ticket) {
        const report = { keys: Object.keys(this.env).sort(), storage: await this.env.STORAGE.list() };
        return [{ title: "report", body: JSON.stringify(report) }];
      }`,
    Lifecycle: `
      async upgrade(context) {
        await this.env.STORAGE.put("upgrade", { version: context.version, previousVersion: context.previousVersion });
      }`,
  });
}

const HOOKS = { "ticket.beforeCreate": hook("tag"), "ticket.created": hook("send"), "ticket.panels": hook("panel") };
const LIFECYCLE = { entrypoint: "Lifecycle", events: ["upgrade" as const] };

/** Publishes `name` at each version with the capabilities given, tagging tickets `v<major>`. */
async function publishVersions(name: string, versions: Record<string, Record<string, { optional?: boolean; hosts?: string[] }>>): Promise<void> {
  for (const [version, capabilities] of Object.entries(versions)) {
    await publishPlugin({ name, version, source: versionSource(`v${version.split(".")[0]}`), capabilities, hooks: HOOKS, lifecycle: LIFECYCLE });
  }
}

/** Publishes 1.0.0 (storage) and 2.0.0 (storage and a required `tickets:read`) and installs 1.0.0. */
async function installNeedingConsent(name: string): Promise<string> {
  await publishVersions(name, { "1.0.0": { storage: {} }, "2.0.0": { storage: {}, "tickets:read": {} } });
  const tenant = uniqueTenant(name);
  await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });
  return tenant;
}

/** Returns what the plugin's panel reports on a new ticket. */
async function report(tenant: string, name: string): Promise<{ keys: string[]; storage: { key: string; value: unknown }[] }> {
  const ticket = await createTicket(tenant, { title: "Report" });
  return readPanel(tenant, ticket.body.ticket.id, name);
}

describe("upgrade that asks for a new capability", () => {
  it("waits for consent while 1.0.0 keeps running", async () => {
    const tenant = await installNeedingConsent("consent-wait");

    const upgrade = await patchInstallation(tenant, "consent-wait", { version: "2.0.0" });
    const current = await getInstallation(tenant, "consent-wait");
    const ticket = await createTicket(tenant, { title: "While pending" });
    const env = await report(tenant, "consent-wait");

    expect(upgrade.status).toBe(200);
    expect(upgrade.body.installation.version).toBe("1.0.0");
    expect(upgrade.body.installation.pendingUpgrade).toMatchObject({ version: "2.0.0", asks: ["tickets:read"] });
    expect(current.body.installation.pendingUpgrade).toMatchObject({ version: "2.0.0", asks: ["tickets:read"] });
    expect(current.body.installation.grants).toEqual({ storage: {} });
    expect(ticket.body.ticket.tags).toEqual(["v1"]);
    expect(ticket.body.hooks.beforeCreate[0]).toMatchObject({ version: "1.0.0", status: "ok" });
    expect(env.keys).not.toContain("TICKETS_READ");
  });

  it("switches to the new version on accept", async () => {
    const tenant = await installNeedingConsent("consent-accept");
    await patchInstallation(tenant, "consent-accept", { version: "2.0.0" });

    const accepted = await patchInstallation(tenant, "consent-accept", { consent: "accept" });
    const ticket = await createTicket(tenant, { title: "After accept" });
    const env = await report(tenant, "consent-accept");

    expect(accepted.status).toBe(200);
    expect(accepted.body.installation).toMatchObject({ version: "2.0.0", pendingUpgrade: null });
    expect(accepted.body.installation.grants).toEqual({ storage: {}, "tickets:read": {} });
    expect(ticket.body.ticket.tags).toEqual(["v2"]);
    expect(env.keys).toContain("TICKETS_READ");
    expect(env.storage).toContainEqual({ key: "upgrade", value: { version: "2.0.0", previousVersion: "1.0.0" } });
  });

  it("keeps 1.0.0 and clears the pending upgrade on decline", async () => {
    const tenant = await installNeedingConsent("consent-decline");
    await patchInstallation(tenant, "consent-decline", { version: "2.0.0" });

    const declined = await patchInstallation(tenant, "consent-decline", { consent: "decline" });
    const ticket = await createTicket(tenant, { title: "After decline" });
    const env = await report(tenant, "consent-decline");
    const logs = await logMessages(tenant, "consent-decline");

    expect(declined.status).toBe(200);
    expect(declined.body.installation).toMatchObject({ version: "1.0.0", pendingUpgrade: null, grants: { storage: {} } });
    expect(ticket.body.ticket.tags).toEqual(["v1"]);
    expect(env.keys).not.toContain("TICKETS_READ");
    expect(env.storage.map((entry) => entry.key)).not.toContain("upgrade");
    expect(logs).toContain("upgrade to 2.0.0 declined; staying on 1.0.0");
  });

  it("rejects consent when no upgrade waits", async () => {
    const tenant = await installNeedingConsent("consent-none");

    const response = await patchInstallation(tenant, "consent-none", { consent: "accept" });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_REQUEST_INVALID");
    expect(response.body.error.path).toBe("body.consent");
  });

  it("rejects a second answer after decline", async () => {
    const tenant = await installNeedingConsent("consent-twice");
    await patchInstallation(tenant, "consent-twice", { version: "2.0.0" });
    await patchInstallation(tenant, "consent-twice", { consent: "decline" });

    const again = await patchInstallation(tenant, "consent-twice", { consent: "accept" });
    const current = await getInstallation(tenant, "consent-twice");

    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("ERR_REQUEST_INVALID");
    expect(current.body.installation.version).toBe("1.0.0");
  });

  it("keeps waiting when accept leaves out a required grant", async () => {
    const tenant = await installNeedingConsent("consent-narrow-required");
    await patchInstallation(tenant, "consent-narrow-required", { version: "2.0.0" });

    const response = await patchInstallation(tenant, "consent-narrow-required", { consent: "accept", grants: { storage: {} } });
    const current = await getInstallation(tenant, "consent-narrow-required");
    const ticket = await createTicket(tenant, { title: "Still pending" });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_GRANT_REQUIRED_MISSING");
    expect(response.body.error.path).toBe("grants.tickets:read");
    expect(current.body.installation.version).toBe("1.0.0");
    expect(current.body.installation.pendingUpgrade).toMatchObject({ version: "2.0.0" });
    expect(ticket.body.ticket.tags).toEqual(["v1"]);
  });

  it("lets accept leave out a new optional capability", async () => {
    const name = "consent-optional";
    await publishVersions(name, { "1.0.0": { storage: {} }, "2.0.0": { storage: {}, "tickets:read": { optional: true } } });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });
    const upgrade = await patchInstallation(tenant, name, { version: "2.0.0" });

    const accepted = await patchInstallation(tenant, name, { consent: "accept", grants: { storage: {} } });
    const env = await report(tenant, name);

    expect(upgrade.body.installation.pendingUpgrade).toMatchObject({ asks: ["tickets:read"] });
    expect(accepted.status).toBe(200);
    expect(accepted.body.installation).toMatchObject({ version: "2.0.0", grants: { storage: {} }, pendingUpgrade: null });
    expect(env.keys).not.toContain("TICKETS_READ");
  });

  it("replaces a pending upgrade with a newer one", async () => {
    const name = "consent-newer";
    await publishVersions(name, {
      "1.0.0": { storage: {} },
      "2.0.0": { storage: {}, "tickets:read": {} },
      "3.0.0": { storage: {}, "tickets:read": {}, "tickets:write": {} },
    });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {} } });
    await patchInstallation(tenant, name, { version: "2.0.0" });

    const newer = await patchInstallation(tenant, name, { version: "3.0.0" });
    const accepted = await patchInstallation(tenant, name, { consent: "accept" });

    expect(newer.body.installation.pendingUpgrade).toMatchObject({ version: "3.0.0", asks: ["tickets:read", "tickets:write"] });
    expect(accepted.body.installation.version).toBe("3.0.0");
    expect(accepted.body.installation.grants).toEqual({ storage: {}, "tickets:read": {}, "tickets:write": {} });
  });
});

describe("upgrade that asks for new network hosts", () => {
  it("reaches the new host only after accept", async () => {
    const name = "consent-hosts";
    await publishVersions(name, {
      "1.0.0": { storage: {}, network: { hosts: ["a.example.test"] } },
      "2.0.0": { storage: {}, network: { hosts: ["a.example.test", "b.example.test"] } },
    });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, version: "1.0.0", grants: { storage: {}, network: {} } });

    const upgrade = await patchInstallation(tenant, name, { version: "2.0.0" });
    const refused = await createTicket(tenant, { title: "https://b.example.test/pending" });
    const accepted = await patchInstallation(tenant, name, { consent: "accept" });
    const allowed = await createTicket(tenant, { title: "https://b.example.test/accepted" });
    const inbox = await readInbox(tenant);

    expect(upgrade.body.installation.pendingUpgrade).toMatchObject({ version: "2.0.0", asks: ["network: b.example.test"] });
    expect(refused.body.hooks.created[0]).toMatchObject({ version: "1.0.0", status: "failed" });
    expect(refused.body.hooks.created[0].error.message).toContain("ERR_EGRESS_NOT_ALLOWED");
    expect(accepted.body.installation.grants.network).toEqual({ hosts: ["a.example.test", "b.example.test"] });
    expect(allowed.body.hooks.created[0]).toMatchObject({ version: "2.0.0", status: "ok" });
    expect(inbox.map((entry) => [entry.url, entry.body])).toEqual([["https://b.example.test/accepted", "v2"]]);
  });
});

describe("reinstall after uninstall", () => {
  it("starts with fresh grants, config, storage, logs and counters", async () => {
    const name = "consent-reinstall";
    await publishPlugin({
      name,
      source: versionSource("v1"),
      capabilities: { storage: {}, network: { hosts: ["*.example.test"], optional: true } },
      hooks: HOOKS,
      config: { label: { type: "string", default: "default label" } },
    });
    const tenant = uniqueTenant(name);
    await install(tenant, { name, grants: { storage: {}, network: {} }, config: { label: "first" } });
    await createTicket(tenant, { title: "https://a.example.test/first" });
    await createTicket(tenant, { title: "https://elsewhere.test/refused" });
    await patchInstallation(tenant, name, { config: { label: "changed" } });
    const before = await getInstallation(tenant, name);
    const beforeTables = await tenantTables(tenant);

    await uninstall(tenant, name);
    const reinstalled = await install(tenant, { name, grants: { storage: {} } });
    const tables = await tenantTables(tenant);
    const logs = await logMessages(tenant, name);

    expect(before.body.installation).toMatchObject({ egress: { allowed: 1, refused: 1 }, revision: 2, consecutiveFailures: 1 });
    expect(reinstalled).toMatchObject({
      grants: { storage: {} },
      config: { label: "default label" },
      revision: 1,
      egress: { allowed: 0, refused: 0 },
      consecutiveFailures: 0,
      lastError: null,
      pendingUpgrade: null,
    });
    expect(tables.installations).toHaveLength(1);
    expect(beforeTables.storage.map((entry) => entry.key)).toEqual(["last-ticket"]);
    expect(tables.installations[0]?.id).not.toBe(beforeTables.installations[0]?.id);
    expect(tables.storage).toEqual([]);
    expect(tables.orphanStorage).toBe(0);
    expect(tables.orphanLogs).toBe(0);
    expect(logs).toEqual([`installed ${name}@1.0.0, state enabled`]);
  });

  it("starts without the pending upgrade", async () => {
    const tenant = await installNeedingConsent("consent-reinstall-pending");
    await patchInstallation(tenant, "consent-reinstall-pending", { version: "2.0.0" });

    await uninstall(tenant, "consent-reinstall-pending");
    const reinstalled = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "consent-reinstall-pending", version: "1.0.0", grants: { storage: {} } });

    expect(reinstalled.status).toBe(201);
    expect(reinstalled.body.installation).toMatchObject({ version: "1.0.0", pendingUpgrade: null });
  });
});
