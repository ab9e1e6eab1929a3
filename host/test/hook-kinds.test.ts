import { BerthError } from "@berth/plugin-sdk/errors";
import * as v from "valibot";
import { describe, expect, it } from "vitest";

import { defineHookPoint, type HookPoint } from "../src/framework/index.ts";
import { runHook, type CallRecord, type Subscriber } from "../src/framework/hooks/dispatch.ts";
import { api, createTicket, hook, install, patchInstallation, pluginSource, publishPlugin, uniqueTenant } from "./helpers/api.ts";

type Behaviour = "ok" | "throws" | "times out" | "garbage";

const payload = v.strictObject({ count: v.number() });

/** Hook points of every kind, with both error policies. */
function points(errorPolicy: "continue" | "abort") {
  return {
    event: defineHookPoint({ name: "test.told", kind: "event", description: "", payload, errorPolicy }),
    filter: defineHookPoint({ name: "test.changed", kind: "filter", description: "", payload, errorPolicy }),
    decision: defineHookPoint({ name: "test.decided", kind: "decision", description: "", payload, errorPolicy }),
    collect: defineHookPoint({ name: "test.collected", kind: "collect", description: "", payload, item: v.string(), errorPolicy }),
  };
}

/** What a well-behaved subscriber returns for each kind. */
function goodResult(kind: HookPoint["kind"], input: { count: number }, plugin: string): unknown {
  switch (kind) {
    case "event":
      return undefined;
    case "filter":
      return { count: input.count + 1 };
    case "decision":
      return plugin === "refuser" ? { allow: false, reason: "not today" } : { allow: true };
    case "collect":
      return [`from ${plugin}`];
  }
}

/** Builds a subscriber whose calls behave as `behaviour`. */
function subscriber(plugin: string, kind: HookPoint["kind"], behaviour: Behaviour, priority = 0, installedAt = 1): Subscriber {
  return {
    plugin,
    version: "1.0.0",
    installationId: plugin,
    priority,
    installedAt,
    async invoke(input) {
      if (behaviour === "throws") throw new BerthError("ERR_HOOK_FAILED", `${plugin} threw`);
      if (behaviour === "times out") throw new BerthError("ERR_HOOK_TIMEOUT", `${plugin} timed out`);
      if (behaviour === "garbage") return { unexpected: [1, 2, 3], count: "many" };
      return goodResult(kind, input as { count: number }, plugin);
    },
  };
}

async function dispatch(point: HookPoint, subscribers: Subscriber[]) {
  const records: CallRecord[] = [];
  const outcome = await runHook(point, { count: 0 }, subscribers, (_subscriber, record) => records.push(record));
  return { outcome: outcome as Record<string, any>, records };
}

const FAULTS: [Behaviour, CallRecord["status"], string][] = [
  ["throws", "failed", "ERR_HOOK_FAILED"],
  ["times out", "timeout", "ERR_HOOK_TIMEOUT"],
  ["garbage", "invalid", "ERR_HOOK_RESULT_INVALID"],
];

describe("event kind", () => {
  it.each(FAULTS)("records a plugin that %s and tells the others", async (behaviour, status, code) => {
    const point = points("continue").event;
    const { outcome } = await dispatch(point, [subscriber("a", "event", "ok"), subscriber("bad", "event", behaviour), subscriber("c", "event", "ok")]);

    // Events ignore results, so garbage counts as a normal result.
    const expected = behaviour === "garbage" ? "ok" : status;
    expect(outcome.calls.map((call: CallRecord) => call.status)).toEqual(["ok", expected, "ok"]);
    if (expected !== "ok") expect(outcome.calls[1].error.code).toBe(code);
  });
});

describe("filter kind", () => {
  it("chains each result into the next call", async () => {
    const { outcome } = await dispatch(points("continue").filter, [subscriber("a", "filter", "ok"), subscriber("b", "filter", "ok")]);

    expect(outcome.value).toEqual({ count: 2 });
    expect(outcome.abortedBy).toBeUndefined();
  });

  it.each(FAULTS)("skips a plugin that %s under continue", async (behaviour, status, code) => {
    const { outcome } = await dispatch(points("continue").filter, [
      subscriber("a", "filter", "ok", 3),
      subscriber("bad", "filter", behaviour, 2),
      subscriber("c", "filter", "ok", 1),
    ]);

    expect(outcome.value).toEqual({ count: 2 });
    expect(outcome.calls[1]).toMatchObject({ plugin: "bad", status, error: { code } });
  });

  it.each(FAULTS)("stops at a plugin that %s under abort", async (behaviour, status) => {
    const { outcome, records } = await dispatch(points("abort").filter, [
      subscriber("a", "filter", "ok", 3),
      subscriber("bad", "filter", behaviour, 2),
      subscriber("never", "filter", "ok", 1),
    ]);

    expect(outcome.abortedBy).toBe("bad");
    expect(outcome.value).toEqual({ count: 1 });
    expect(records.map((record) => record.plugin)).toEqual(["a", "bad"]);
    expect(records[1]?.status).toBe(status);
  });

  it("orders equal priorities by installation time, then name", async () => {
    const { records } = await dispatch(points("continue").filter, [
      subscriber("zeta", "filter", "ok", 0, 2),
      subscriber("beta", "filter", "ok", 0, 1),
      subscriber("alpha", "filter", "ok", 0, 2),
      subscriber("first", "filter", "ok", 5, 9),
    ]);

    expect(records.map((record) => record.plugin)).toEqual(["first", "beta", "alpha", "zeta"]);
  });
});

describe("decision kind", () => {
  it("lets one refusal win", async () => {
    const { outcome } = await dispatch(points("continue").decision, [subscriber("a", "decision", "ok"), subscriber("refuser", "decision", "ok")]);

    expect(outcome.allowed).toBe(false);
    expect(outcome.refusals).toEqual([{ plugin: "refuser", reason: "not today" }]);
  });

  it.each(FAULTS)("ignores a plugin that %s under continue", async (behaviour, status) => {
    const { outcome } = await dispatch(points("continue").decision, [subscriber("a", "decision", "ok"), subscriber("bad", "decision", behaviour)]);

    expect(outcome.allowed).toBe(true);
    expect(outcome.calls[1].status).toBe(status);
  });

  it.each(FAULTS)("counts a plugin that %s as a refusal under abort", async (behaviour) => {
    const { outcome } = await dispatch(points("abort").decision, [subscriber("a", "decision", "ok"), subscriber("bad", "decision", behaviour)]);

    expect(outcome.allowed).toBe(false);
    expect(outcome.refusals[0].plugin).toBe("bad");
    expect(outcome.refusals[0].reason).toContain("did not answer");
  });
});

describe("collect kind", () => {
  it("tags items with their plugin in dispatch order", async () => {
    const { outcome } = await dispatch(points("continue").collect, [subscriber("b", "collect", "ok", 0, 2), subscriber("a", "collect", "ok", 0, 1)]);

    expect(outcome.items).toEqual([
      { plugin: "a", item: "from a" },
      { plugin: "b", item: "from b" },
    ]);
  });

  it.each(FAULTS)("leaves out a plugin that %s", async (behaviour, status, code) => {
    const { outcome } = await dispatch(points("continue").collect, [subscriber("a", "collect", "ok"), subscriber("bad", "collect", behaviour)]);

    expect(outcome.items).toEqual([{ plugin: "a", item: "from a" }]);
    expect(outcome.calls[1]).toMatchObject({ status, error: { code } });
  });
});

describe("dispatch snapshot", () => {
  it("keeps the subscribers taken when the dispatch started", async () => {
    const tenant = uniqueTenant("snapshot");
    const slow = pluginSource({ Hooks: `async tag(draft) { await scheduler.wait(300); return { ...draft, tags: [...draft.tags, "slow"] }; }` });
    const late = pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "late"] }; }` });
    const added = pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "added"] }; }` });
    await publishPlugin({ name: "snap-slow", source: slow, hooks: { "ticket.beforeCreate": hook("tag", 10) } });
    await publishPlugin({ name: "snap-late", source: late, hooks: { "ticket.beforeCreate": hook("tag", 0) } });
    await publishPlugin({ name: "snap-added", source: added, hooks: { "ticket.beforeCreate": hook("tag", -10) } });
    await install(tenant, { name: "snap-slow" });
    await install(tenant, { name: "snap-late" });

    // While snap-slow keeps the dispatch waiting, disable snap-late and install snap-added.
    const during = createTicket(tenant, { title: "During changes" });
    let settled = false;
    void during.then(() => {
      settled = true;
    });
    await scheduler.wait(100);
    const disabled = await patchInstallation(tenant, "snap-late", { state: "disabled" });
    const installed = await api("POST", `/v1/tenants/${tenant}/installations`, { name: "snap-added" });
    const changedWhileRunning = !settled;
    const first = await during;
    const second = await createTicket(tenant, { title: "After changes" });

    expect(disabled.status).toBe(200);
    expect(installed.status).toBe(201);
    expect(changedWhileRunning).toBe(true);
    expect(first.body.ticket.tags).toEqual(["slow", "late"]);
    expect(second.body.ticket.tags).toEqual(["slow", "added"]);
  });
});
