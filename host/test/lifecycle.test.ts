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
  uninstall,
  uniqueTenant,
} from "./helpers/api.ts";

// The filter tags and remembers each ticket, and the panel reports all storage
// keys. Config flags make lifecycle hooks throw or hang.
const LIFECYCLE_SOURCE = pluginSource({
  Hooks: `
    async tag(draft) {
      await this.env.STORAGE.put("last-title", draft.title);
      return { ...draft, tags: [...draft.tags, "lifecycle"] };
    }
    async panel(ticket) {
      const entries = await this.env.STORAGE.list();
      return [{ title: "storage", body: JSON.stringify(entries.map((entry) => entry.key)) }];
    }`,
  Lifecycle: `
    async install(context) {
      await this.env.STORAGE.put("installed", context.installation);
      if (this.env.CONFIG.hangInstall) await new Promise(() => {});
      if (this.env.CONFIG.failInstall) throw new Error("install refused by config");
    }
    async enable(context) {
      if (this.env.CONFIG.failEnable) throw new Error("enable refused by config");
    }
    async disable(context) {}
    async uninstall(context) {
      if (this.env.CONFIG.failUninstall) throw new Error("uninstall refused by config");
    }`,
});

/** Publishes the lifecycle plugin under `name`. */
async function publishLifecycle(name: string): Promise<void> {
  await publishPlugin({
    name,
    source: LIFECYCLE_SOURCE,
    capabilities: { storage: {} },
    hooks: { "ticket.beforeCreate": hook("tag"), "ticket.panels": hook("panel") },
    lifecycle: { entrypoint: "Lifecycle", events: ["install", "enable", "disable", "uninstall"] },
    config: {
      failInstall: { type: "boolean", default: false },
      hangInstall: { type: "boolean", default: false },
      failEnable: { type: "boolean", default: false },
      failUninstall: { type: "boolean", default: false },
    },
  });
}

/** Returns the names of a tenant's installations. */
async function installedNames(tenant: string): Promise<string[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/installations`);
  return response.body.installations.map((installation: { name: string }) => installation.name);
}

describe("failed install", () => {
  it("leaves nothing behind", async () => {
    const tenant = uniqueTenant("life-fail");
    await publishLifecycle("life-fail");

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "life-fail", grants: { storage: {} }, config: { failInstall: true } });
    const lookup = await getInstallation(tenant, "life-fail");
    const logs = await api("GET", `/v1/tenants/${tenant}/installations/life-fail/logs`);

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(response.body.error.message).toContain("install refused by config");
    expect(lookup.status).toBe(404);
    expect(lookup.body.error.code).toBe("ERR_INSTALLATION_NOT_FOUND");
    expect(logs.status).toBe(404);
    expect(await installedNames(tenant)).toEqual([]);
  });

  it("leaves nothing behind when the hook never settles", async () => {
    const tenant = uniqueTenant("life-hang");
    await publishLifecycle("life-hang");

    const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "life-hang", grants: { storage: {} }, config: { hangInstall: true } });
    const lookup = await getInstallation(tenant, "life-hang");

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(lookup.status).toBe(404);
  });

  it("can be retried once fixed", async () => {
    const tenant = uniqueTenant("life-retry");
    await publishLifecycle("life-retry");
    await api("POST", `/v1/tenants/${tenant}/installations`, { name: "life-retry", grants: { storage: {} }, config: { failInstall: true } });

    const retried = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "life-retry", grants: { storage: {} } });
    const ticket = await createTicket(tenant, { title: "After the retry" });

    expect(retried.status).toBe(201);
    expect(retried.body.installation).toMatchObject({ state: "enabled", revision: 1, consecutiveFailures: 0, lastError: null });
    expect(ticket.body.ticket.tags).toEqual(["lifecycle"]);
  });

  it("does not dispatch to a failed install", async () => {
    const tenant = uniqueTenant("life-fail-dispatch");
    await publishLifecycle("life-fail-dispatch");
    await api("POST", `/v1/tenants/${tenant}/installations`, { name: "life-fail-dispatch", grants: { storage: {} }, config: { failInstall: true } });

    const ticket = await createTicket(tenant, { title: "Nobody subscribed" });

    expect(ticket.body.hooks.beforeCreate).toEqual([]);
    expect(ticket.body.ticket.tags).toEqual([]);
  });
});

describe("PATCH state", () => {
  it("stops dispatch when disabled", async () => {
    const tenant = uniqueTenant("life-disable");
    await publishLifecycle("life-disable");
    await install(tenant, { name: "life-disable", grants: { storage: {} } });

    const disabled = await patchInstallation(tenant, "life-disable", { state: "disabled" });
    const ticket = await createTicket(tenant, { title: "While disabled" });

    expect(disabled.status).toBe(200);
    expect(disabled.body.installation.state).toBe("disabled");
    expect(ticket.body.hooks.beforeCreate).toEqual([]);
    expect(ticket.body.ticket.tags).toEqual([]);
  });

  it("resumes dispatch when enabled again", async () => {
    const tenant = uniqueTenant("life-enable");
    await publishLifecycle("life-enable");
    await install(tenant, { name: "life-enable", grants: { storage: {} } });
    await patchInstallation(tenant, "life-enable", { state: "disabled" });

    const enabled = await patchInstallation(tenant, "life-enable", { state: "enabled" });
    const ticket = await createTicket(tenant, { title: "Enabled again" });

    expect(enabled.status).toBe(200);
    expect(enabled.body.installation.state).toBe("enabled");
    expect(ticket.body.hooks.beforeCreate).toEqual([{ plugin: "life-enable", version: "1.0.0", status: "ok" }]);
    expect(ticket.body.ticket.tags).toEqual(["lifecycle"]);
  });

  it("dispatches nothing to an install that was not enabled", async () => {
    const tenant = uniqueTenant("life-installed");
    await publishLifecycle("life-installed");

    const installed = await install(tenant, { name: "life-installed", grants: { storage: {} }, enable: false });
    const ticket = await createTicket(tenant, { title: "Installed, not enabled" });

    expect(installed.state).toBe("installed");
    expect(ticket.body.hooks.beforeCreate).toEqual([]);
  });

  it("stays installed when the enable hook fails", async () => {
    const tenant = uniqueTenant("life-enable-fails");
    await publishLifecycle("life-enable-fails");
    await install(tenant, { name: "life-enable-fails", grants: { storage: {} }, config: { failEnable: true }, enable: false });

    const response = await patchInstallation(tenant, "life-enable-fails", { state: "enabled" });
    const current = await getInstallation(tenant, "life-enable-fails");
    const ticket = await createTicket(tenant, { title: "Enable failed" });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_LIFECYCLE_FAILED");
    expect(response.body.error.message).toContain("enable refused by config");
    expect(current.body.installation.state).toBe("installed");
    expect(ticket.body.hooks.beforeCreate).toEqual([]);
  });
});

describe("uninstall", () => {
  it("purges storage so a reinstall starts empty", async () => {
    const tenant = uniqueTenant("life-purge");
    await publishLifecycle("life-purge");
    await install(tenant, { name: "life-purge", grants: { storage: {} } });
    const ticket = (await createTicket(tenant, { title: "Remember me" })).body.ticket.id;
    const before: string[] = await readPanel(tenant, ticket, "life-purge");

    const removed = await uninstall(tenant, "life-purge");
    await install(tenant, { name: "life-purge", grants: { storage: {} } });
    const after: string[] = await readPanel(tenant, ticket, "life-purge");

    expect(before).toEqual(["installed", "last-title"]);
    expect(removed.status).toBe(200);
    expect(removed.body.uninstalled).toEqual({ name: "life-purge", version: "1.0.0" });
    // Only the new install hook's own key is there.
    expect(after).toEqual(["installed"]);
  });

  it("stops dispatch and removes the installation", async () => {
    const tenant = uniqueTenant("life-remove");
    await publishLifecycle("life-remove");
    await install(tenant, { name: "life-remove", grants: { storage: {} } });

    await uninstall(tenant, "life-remove");
    const ticket = await createTicket(tenant, { title: "After uninstall" });
    const lookup = await getInstallation(tenant, "life-remove");
    const logs = await api("GET", `/v1/tenants/${tenant}/installations/life-remove/logs`);

    expect(ticket.body.hooks.beforeCreate).toEqual([]);
    expect(lookup.status).toBe(404);
    expect(logs.status).toBe(404);
    expect(await installedNames(tenant)).toEqual([]);
  });

  it("completes when the uninstall hook fails", async () => {
    const tenant = uniqueTenant("life-uninstall-fails");
    await publishLifecycle("life-uninstall-fails");
    await install(tenant, { name: "life-uninstall-fails", grants: { storage: {} }, config: { failUninstall: true } });

    const removed = await uninstall(tenant, "life-uninstall-fails");
    const lookup = await getInstallation(tenant, "life-uninstall-fails");

    expect(removed.status).toBe(200);
    expect(lookup.status).toBe(404);
  });

  it("returns 404 for a plugin that is not installed", async () => {
    const response = await uninstall(uniqueTenant("life-missing"), "never-installed");

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("ERR_INSTALLATION_NOT_FOUND");
  });
});

describe("concurrent admin requests", () => {
  it("install one plugin once", async () => {
    const tenant = uniqueTenant("life-race");
    await publishLifecycle("life-race");
    const body = { name: "life-race", grants: { storage: {} } };

    const responses = await Promise.all([
      api("POST", `/v1/tenants/${tenant}/installations`, body),
      api("POST", `/v1/tenants/${tenant}/installations`, body),
    ]);
    const statuses = responses.map((response) => response.status).sort();

    expect(statuses).toEqual([201, 409]);
    expect(responses.find((response) => response.status === 409)?.body.error.code).toBe("ERR_INSTALLATION_EXISTS");
    expect(await installedNames(tenant)).toEqual(["life-race"]);
  });

  it("disable and uninstall leave no installation", async () => {
    const tenant = uniqueTenant("life-race-remove");
    await publishLifecycle("life-race-remove");
    await install(tenant, { name: "life-race-remove", grants: { storage: {} } });

    const [disabled, removed] = await Promise.all([
      patchInstallation(tenant, "life-race-remove", { state: "disabled" }),
      uninstall(tenant, "life-race-remove"),
    ]);
    const lookup = await getInstallation(tenant, "life-race-remove");

    expect([200, 404]).toContain(disabled.status);
    expect(removed.status).toBe(200);
    expect(lookup.status).toBe(404);
  });
});
