/**
 * Concurrent admin requests on one plugin in one tenant: installs, upgrades,
 * config changes and uninstalls fired at once, with ticket hooks running beside
 * them. Whatever order the tenant's Durable Object runs them in, the end state
 * must be one a serial order could give, with no storage left behind.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { api, createTicket, getInstallation, hook, pluginSource, publishPlugin, readPanel, uniqueTenant, type ApiResponse } from "./helpers/api.ts";
import { tenantTables } from "./helpers/checks.ts";

const PLUGIN = "storm-plugin";
const VERSIONS = ["1.0.0", "2.0.0", "3.0.0"];

// Every lifecycle hook and the filter write a storage key, so a write that lands
// after an uninstall purged the installation would show up as an orphan row.
const SOURCE = pluginSource({
  Hooks: `
    async tag(draft) {
      await this.env.STORAGE.put("last-ticket", draft.title);
      return draft;
    }
    async panel(ticket) {
      return [{ title: "storage", body: JSON.stringify(await this.env.STORAGE.list()) }];
    }`,
  Lifecycle: `
    async install(context) {
      await this.env.STORAGE.put("installed", context.installation);
    }
    async upgrade(context) {
      await this.env.STORAGE.put("upgraded-" + context.version, context.previousVersion);
    }
    async configure(context) {
      await this.env.STORAGE.put("configured", this.env.CONFIG.label);
    }
    async uninstall(context) {
      await this.env.STORAGE.put("uninstalling", true);
    }`,
});

/** One request of the storm, and the statuses it may get. */
interface StormRequest {
  kind: "install" | "upgrade" | "configure" | "uninstall" | "ticket";
  send: () => Promise<ApiResponse>;
  allowed: number[];
}

/** Returns the storm's requests for `tenant`: six of each admin kind and four tickets. */
function stormRequests(tenant: string): StormRequest[] {
  const base = `/v1/tenants/${tenant}/installations`;
  const requests: StormRequest[] = [];
  for (let index = 0; index < 6; index += 1) {
    const version = VERSIONS[1 + (index % 2)] as string;
    requests.push(
      { kind: "install", send: () => api("POST", base, { name: PLUGIN, version: "1.0.0", grants: { storage: {} } }), allowed: [201, 409] },
      { kind: "upgrade", send: () => api("PATCH", `${base}/${PLUGIN}`, { version }), allowed: [200, 404, 409] },
      { kind: "configure", send: () => api("PATCH", `${base}/${PLUGIN}`, { config: { label: `label ${index}` } }), allowed: [200, 404] },
      { kind: "uninstall", send: () => api("DELETE", `${base}/${PLUGIN}`), allowed: [200, 404] },
    );
  }
  for (let index = 0; index < 4; index += 1) {
    requests.push({ kind: "ticket", send: () => createTicket(tenant, { title: `Storm ticket ${index}` }), allowed: [201] });
  }
  return requests;
}

/** Returns a seeded pseudo-random generator of integers below 2^31 (a linear congruential generator). */
function randomIntegers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
}

/**
 * Shuffles the requests and gives each a start delay of 0 to 30 ms, both drawn
 * from `seed`. Installs and upgrades ask the registry first and so reach the
 * tenant later than the other requests; the delays mix the arrival order up.
 */
function schedule(requests: StormRequest[], seed: number): { request: StormRequest; delayMs: number }[] {
  const next = randomIntegers(seed);
  for (let index = requests.length - 1; index > 0; index -= 1) {
    const other = next() % (index + 1);
    [requests[index], requests[other]] = [requests[other] as StormRequest, requests[index] as StormRequest];
  }
  return requests.map((request) => ({ request, delayMs: (next() % 7) * 5 }));
}

describe("concurrent admin requests", () => {
  beforeAll(async () => {
    for (const version of VERSIONS) {
      await publishPlugin({
        name: PLUGIN,
        version,
        source: SOURCE,
        capabilities: { storage: {} },
        hooks: { "ticket.beforeCreate": hook("tag"), "ticket.panels": hook("panel") },
        lifecycle: { entrypoint: "Lifecycle", events: ["install", "upgrade", "configure", "uninstall"] },
        config: { label: { type: "string", default: "first" } },
      });
    }
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("end in a valid state (seed %i)", async (seed) => {
    const tenant = uniqueTenant(`storm-${seed}`);
    // Odd seeds start from an installed plugin, even seeds from none.
    const startsInstalled = seed % 2 === 1;
    if (startsInstalled) await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, version: "1.0.0", grants: { storage: {} } });
    const scheduled = schedule(stormRequests(tenant), seed);
    const requests = scheduled.map((entry) => entry.request);

    const responses = await Promise.all(scheduled.map(async ({ request, delayMs }) => {
      await scheduler.wait(delayMs);
      return request.send();
    }));
    const final = await getInstallation(tenant, PLUGIN);
    const tables = await tenantTables(tenant);

    // Every request got a status its kind allows, so none failed inside the host.
    responses.forEach((response, index) => {
      const request = requests[index] as StormRequest;
      expect(request.allowed, `${request.kind} got ${response.status}: ${JSON.stringify(response.body)}`).toContain(response.status);
    });

    // Installs and uninstalls alternate in any serial order, so their successes differ by at most one.
    const installs = responses.filter((response, index) => requests[index]?.kind === "install" && response.status === 201).length;
    const uninstalls = responses.filter((response, index) => requests[index]?.kind === "uninstall" && response.status === 200).length;
    const installed = final.status === 200;
    expect(installs - uninstalls + (startsInstalled ? 1 : 0)).toBe(installed ? 1 : 0);

    expect(tables.orphanStorage).toBe(0);
    expect(tables.orphanLogs).toBe(0);
    if (!installed) {
      expect(final.status).toBe(404);
      expect(tables.installations).toEqual([]);
      expect(tables.storage).toEqual([]);
      return;
    }

    const installation = final.body.installation;
    const row = tables.installations[0];
    expect(tables.installations).toHaveLength(1);
    expect(VERSIONS).toContain(installation.version);
    expect(installation).toMatchObject({ state: "enabled", pendingUpgrade: null, grants: { storage: {} } });
    expect(row).toMatchObject({ name: PLUGIN, version: installation.version, state: "enabled", revision: installation.revision });

    // The live installation's storage was written by its own install hook, not by an earlier one's.
    const ticket = await createTicket(tenant, { title: "After the storm" });
    const storage: { key: string; value: unknown }[] = await readPanel(tenant, ticket.body.ticket.id, PLUGIN);
    expect(storage).toContainEqual({ key: "installed", value: row?.id });
    expect(storage.map((entry) => entry.key)).not.toContain("uninstalling");
    expect(tables.storage.every((entry) => entry.installationId === row?.id)).toBe(true);
  });
});
