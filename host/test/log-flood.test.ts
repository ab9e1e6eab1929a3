/**
 * Flooding: a plugin that logs or sends requests in a tight loop leaves its log
 * bounded, its egress counts exact, other plugins' logs untouched, and the host
 * responsive. Plain egress counting is covered in network.test.ts.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import { TRUNCATED_NOTICE } from "../src/framework/capabilities/entrypoints.ts";
import { tenantStub } from "../src/framework/index.ts";
import {
  DROPPED_LOG_LEVEL,
  MAX_LOG_LINE_LENGTH,
  MAX_LOG_LINES,
  MAX_LOG_LINES_PER_CALL,
  MAX_LOG_LINES_PER_MINUTE,
  TenantStore,
} from "../src/framework/tenants/store.ts";
import { api, createTicket, getInstallation, hook, install, pluginSource, publishPlugin, uniqueTenant } from "./helpers/api.ts";
import { pollUntil } from "./helpers/checks.ts";

// The event hook reads a command from the ticket's title: "flood N" logs N short
// lines, "floodlong N" N lines of which every tenth is 3,000 characters long,
// "quiet" one line, and "fetch N" sends N requests to a host outside the grant.
// A plugin name after the command limits it to that plugin.
const FLOODER = pluginSource({
  Hooks: `
    async created(ticket) {
      const [command, count, target] = ticket.title.split(" ");
      if (target !== undefined && target !== this.env.BERTH.plugin) return;
      if (command === "flood") {
        for (let index = 0; index < Number(count); index += 1) console.log("flood line " + index);
      } else if (command === "floodlong") {
        for (let index = 0; index < Number(count); index += 1) {
          console.log("flood line " + index + (index % 10 === 0 ? " " + "x".repeat(3000) : ""));
        }
      } else if (command === "quiet") {
        console.log("quiet line");
      } else if (command === "fetch") {
        for (let index = 0; index < Number(count); index += 1) {
          await fetch("https://refused.test/" + index).catch(() => undefined);
        }
      }
    }`,
});

const DROPPED = /^(\d+) log lines? dropped: /;

/** Returns the log lines of an installation, up to the 500 kept. */
async function readLog(tenant: string, name: string): Promise<{ level: string; message: string }[]> {
  const response = await api("GET", `/v1/tenants/${tenant}/installations/${name}/logs?limit=500`);
  return response.body.logs;
}

/** Returns the number in the log's "N log lines dropped" line, or 0 when there is none. */
function droppedCount(lines: { message: string }[]): number {
  const marker = lines.find((line) => DROPPED.test(line.message));
  return marker === undefined ? 0 : Number(DROPPED.exec(marker.message)?.[1]);
}

/** Polls the log until its "N log lines dropped" line reaches `expected`; returns the log. */
async function waitForDropped(tenant: string, name: string, expected: number): Promise<{ level: string; message: string }[]> {
  return pollUntil(
    () => readLog(tenant, name),
    (lines) => droppedCount(lines) >= expected,
  );
}

/** Installs the flooder under `name` in a new tenant and returns the tenant. */
async function installFlooder(name: string, grants: Record<string, object> = {}): Promise<string> {
  const tenant = uniqueTenant(name);
  await install(tenant, { name, grants });
  return tenant;
}

beforeAll(async () => {
  for (const name of ["flood-call", "flood-counted", "flood-long", "flood-minute", "flood-neighbour", "flood-quiet"]) {
    await publishPlugin({ name, source: FLOODER, hooks: { "ticket.created": hook("created") } });
  }
  await publishPlugin({
    name: "flood-egress",
    source: FLOODER,
    capabilities: { network: { hosts: ["*.example.test"] } },
    hooks: { "ticket.created": hook("created") },
  });
});

describe("plugin logging 10,000 lines in one call", () => {
  const name = "flood-call";
  let tenant: string;
  let lines: { level: string; message: string }[];
  let floodMs: number;
  let followingMs: number;

  beforeAll(async () => {
    tenant = await installFlooder(name);

    const started = Date.now();
    const flood = await createTicket(tenant, { title: "flood 10000" });
    floodMs = Date.now() - started;
    const following = await getInstallation(tenant, name);
    followingMs = Date.now() - started - floodMs;
    lines = await waitForDropped(tenant, name, 1);

    expect(flood.body.hooks.created[0]).toMatchObject({ status: "ok" });
    expect(following.status).toBe(200);
  });

  it("keeps at most 500 lines", () => {
    expect(lines.length).toBeLessThanOrEqual(MAX_LOG_LINES);
  });

  it("keeps the first 100 lines of the call", () => {
    const flood = lines.filter((line) => line.message.startsWith("flood line "));

    expect(flood).toHaveLength(MAX_LOG_LINES_PER_CALL);
    expect(flood[0]?.message).toBe("flood line 0");
    expect(flood.at(-1)?.message).toBe(`flood line ${MAX_LOG_LINES_PER_CALL - 1}`);
  });

  it("counts the other lines it received in one dropped line", () => {
    const markers = lines.filter((line) => DROPPED.test(line.message));

    // workerd records about 256 KB of console output per request, so fewer than 10,000 lines arrive.
    expect(markers).toHaveLength(1);
    expect(markers[0]?.level).toBe("warn");
    expect(droppedCount(lines)).toBeGreaterThan(0);
    expect(droppedCount(lines)).toBeLessThan(10_000 - MAX_LOG_LINES_PER_CALL);
  });

  it("notes that the runtime cut the output", () => {
    const notices = lines.filter((line) => line.message === TRUNCATED_NOTICE);

    expect(notices).toHaveLength(1);
    expect(notices[0]?.level).toBe("warn");
  });

  it("answers the call and the next request promptly", () => {
    // Generous bounds for a slow machine; a host blocked by the flood takes far longer.
    expect(floodMs).toBeLessThan(5_000);
    expect(followingMs).toBeLessThan(1_000);
  });
});

describe("plugin logging 2,000 short lines in one call", () => {
  it("counts every line past the first 100", async () => {
    const name = "flood-counted";
    const tenant = await installFlooder(name);

    // About 190 KB of console output: under the 256 KB workerd records per request.
    await createTicket(tenant, { title: "flood 2000" });
    const lines = await waitForDropped(tenant, name, 2_000 - MAX_LOG_LINES_PER_CALL);

    expect(lines.map((line) => line.message)).not.toContain(TRUNCATED_NOTICE);
    expect(lines.filter((line) => line.message.startsWith("flood line "))).toHaveLength(MAX_LOG_LINES_PER_CALL);
    expect(droppedCount(lines)).toBe(2_000 - MAX_LOG_LINES_PER_CALL);
  });
});

describe("plugin logging long lines past the runtime's log size limit", () => {
  it("keeps no line over 1,000 characters and notes the cut", async () => {
    const name = "flood-long";
    const tenant = await installFlooder(name);

    // 2,000 lines with 200 of 3,000 characters: over the 256 KB workerd records per request.
    await createTicket(tenant, { title: "floodlong 2000" });
    const lines = await pollUntil(
      () => readLog(tenant, name),
      (current) => current.some((line) => line.message === TRUNCATED_NOTICE),
    );
    const longest = Math.max(...lines.map((line) => line.message.length));

    expect(lines.map((line) => line.message)).toContain(TRUNCATED_NOTICE);
    expect(longest).toBe(MAX_LOG_LINE_LENGTH);
    expect(lines.length).toBeLessThanOrEqual(MAX_LOG_LINES);
    expect(droppedCount(lines)).toBeGreaterThan(0);
  });
});

describe("plugin logging over the per-minute limit", () => {
  it("keeps 300 lines a minute and counts the rest", async () => {
    const name = "flood-minute";
    const tenant = await installFlooder(name);

    for (let call = 0; call < 5; call += 1) await createTicket(tenant, { title: `flood ${MAX_LOG_LINES_PER_CALL}` });
    // The install line used one line of the minute's budget.
    const lines = await waitForDropped(tenant, name, 5 * MAX_LOG_LINES_PER_CALL - (MAX_LOG_LINES_PER_MINUTE - 1));
    const flood = lines.filter((line) => line.message.startsWith("flood line "));

    expect(lines).toHaveLength(MAX_LOG_LINES_PER_MINUTE + 1);
    expect(flood.length + droppedCount(lines)).toBe(5 * MAX_LOG_LINES_PER_CALL);
  });

  it("leaves another installation's log alone", async () => {
    const tenant = uniqueTenant("flood-neighbour");
    await install(tenant, { name: "flood-neighbour" });
    await install(tenant, { name: "flood-quiet" });

    for (let call = 0; call < 4; call += 1) await createTicket(tenant, { title: `flood ${MAX_LOG_LINES_PER_CALL} flood-neighbour` });
    const flooded = await waitForDropped(tenant, "flood-neighbour", 1);
    await createTicket(tenant, { title: "quiet 1 flood-quiet" });
    const quiet = await pollUntil(
      () => readLog(tenant, "flood-quiet"),
      (lines) => lines.some((line) => line.message === "quiet line"),
    );

    expect(droppedCount(flooded)).toBeGreaterThan(0);
    expect(quiet.map((line) => line.message)).toEqual(["installed flood-quiet@1.0.0, state enabled", "quiet line"]);
  });
});

describe("plugin sending refused requests in a loop", () => {
  it("counts every request while its log stays within the limit", async () => {
    const name = "flood-egress";
    const tenant = await installFlooder(name, { network: {} });
    const requests = 400;

    const created = await createTicket(tenant, { title: `fetch ${requests}` });
    const installation = await getInstallation(tenant, name);
    const lines = await waitForDropped(tenant, name, 1);
    const egress = lines.filter((line) => line.message.startsWith("egress refused: GET https://refused.test/"));

    expect(created.body.hooks.created[0]).toMatchObject({ status: "ok" });
    expect(installation.body.installation.egress).toEqual({ allowed: 0, refused: requests });
    expect(lines.length).toBeLessThanOrEqual(MAX_LOG_LINES_PER_MINUTE + 1);
    expect(egress.length + droppedCount(lines)).toBe(requests);
  });
});

describe("TenantStore log rate limit", () => {
  /** Runs `task` with a store on a fresh tenant's SQLite storage and a clock the test sets. */
  async function withStore<T>(task: (store: TenantStore, clock: { now: number }) => T): Promise<T> {
    return runInDurableObject(tenantStub(env, uniqueTenant("flood-store")), (_instance, state) => {
      const clock = { now: 1_000_000 };
      const store = new TenantStore(state.storage.sql, { now: () => clock.now });
      return task(store, clock);
    });
  }

  const id = "6f1c1e4e-5a7e-4c55-9d8e-2f9d1f0a0b11";

  it("counts lines over the limit into one line", async () => {
    const messages = await withStore((store) => {
      for (let index = 0; index < MAX_LOG_LINES_PER_MINUTE + 5; index += 1) store.appendLog(id, "log", `line ${index}`);
      return store.readLogs(id, 500).map((line) => line.message);
    });

    expect(messages).toHaveLength(MAX_LOG_LINES_PER_MINUTE + 1);
    expect(messages.at(-1)).toMatch(/^5 log lines dropped: /);
  });

  it("adds a sender's dropped count to the same line", async () => {
    const messages = await withStore((store) => {
      store.appendLog(id, DROPPED_LOG_LEVEL, "40");
      store.appendLog(id, "log", "kept");
      store.appendLog(id, DROPPED_LOG_LEVEL, "2");
      return store.readLogs(id, 500).map((line) => line.message);
    });

    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^42 log lines dropped: /);
    expect(messages[1]).toBe("kept");
  });

  it("starts a new budget after a minute", async () => {
    const messages = await withStore((store, clock) => {
      for (let index = 0; index < MAX_LOG_LINES_PER_MINUTE + 1; index += 1) store.appendLog(id, "log", `first minute ${index}`);
      clock.now += 60_000;
      store.appendLog(id, "log", "next minute");
      return store.readLogs(id, 500).map((line) => line.message);
    });

    expect(messages).toHaveLength(MAX_LOG_LINES_PER_MINUTE + 2);
    expect(messages.at(-2)).toMatch(/^1 log line dropped: /);
    expect(messages.at(-1)).toBe("next minute");
  });

  it("keeps at most 500 lines across minutes", async () => {
    const count = await withStore((store, clock) => {
      for (let minute = 0; minute < 3; minute += 1) {
        for (let index = 0; index < MAX_LOG_LINES_PER_MINUTE; index += 1) store.appendLog(id, "log", `minute ${minute} line ${index}`);
        clock.now += 60_000;
      }
      return store.readLogs(id, 500).length;
    });

    expect(count).toBe(MAX_LOG_LINES);
  });
});
