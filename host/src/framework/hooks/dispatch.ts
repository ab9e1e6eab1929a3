/**
 * The semantics of the four hook kinds over an already chosen, ordered list of
 * subscribers. Loading plugins and timing out calls is the caller's part (see
 * `TenantObject`); this file decides who runs when, and what counts as a result.
 *
 * @module
 */
import { BerthError, type ErrorCode } from "@berth/plugin-sdk/errors";
import * as v from "valibot";

import {
  MAX_COLLECT_ITEMS,
  decisionResultSchema,
  type AnySchema,
  type CollectHookPoint,
  type DecisionHookPoint,
  type EventHookPoint,
  type FilterHookPoint,
  type HookPoint,
} from "./hook-point.ts";

/**
 * Most plugin calls in flight at once for one dispatch. Cloudflare runs at most 4
 * distinct Dynamic Workers concurrently per request.
 */
export const MAX_IN_FLIGHT = 4;

/** One installation subscribed to the hook point being dispatched. */
export interface Subscriber {
  plugin: string;
  version: string;
  installationId: string;
  priority: number;
  installedAt: number;
  /** Calls the plugin's method; rejects with a `BerthError` on failure or timeout. */
  invoke(payload: unknown): Promise<unknown>;
}

/** The record of one plugin call. */
export interface CallRecord {
  plugin: string;
  version: string;
  status: "ok" | "failed" | "timeout" | "invalid";
  error?: { code: ErrorCode; message: string };
}

/** Outcome of an event dispatch. */
export interface EventOutcome {
  calls: CallRecord[];
  /** Set when the app chose not to wait: the calls finish after the response. */
  background?: true;
}

/** Outcome of a filter dispatch: the final payload and each step. */
export interface FilterOutcome<T> {
  value: T;
  calls: CallRecord[];
  /** Set when a failed step stopped the chain under the `abort` policy. */
  abortedBy?: string;
}

/** Outcome of a decision dispatch. */
export interface DecisionOutcome {
  allowed: boolean;
  refusals: { plugin: string; reason: string }[];
  calls: CallRecord[];
}

/** Outcome of a collect dispatch. */
export interface CollectOutcome<T> {
  items: { plugin: string; item: T }[];
  calls: CallRecord[];
}

/** The outcome type of a hook point, derived from its kind and schemas. */
export type OutcomeOf<H extends HookPoint> = H extends CollectHookPoint<AnySchema, infer I>
  ? CollectOutcome<v.InferOutput<I>>
  : H extends FilterHookPoint<infer P>
    ? FilterOutcome<v.InferOutput<P>>
    : H extends DecisionHookPoint
      ? DecisionOutcome
      : EventOutcome;

/** Orders subscribers: higher priority first, then earlier installation, then name. */
export function orderSubscribers<S extends Subscriber>(subscribers: readonly S[]): S[] {
  return [...subscribers].sort(
    (a, b) => b.priority - a.priority || a.installedAt - b.installedAt || a.plugin.localeCompare(b.plugin),
  );
}

/**
 * Runs one dispatch of `point` with an already validated payload. Never rejects
 * because of a plugin: failures become {@link CallRecord}s, and `onCall` hears of
 * every call so the caller can record failures.
 */
export async function runHook<H extends HookPoint>(
  point: H,
  payload: unknown,
  subscribers: readonly Subscriber[],
  onCall: (subscriber: Subscriber, record: CallRecord) => void,
): Promise<OutcomeOf<H>> {
  const ordered = orderSubscribers(subscribers);
  const call = async (subscriber: Subscriber, input: unknown, check: (result: unknown) => unknown) => {
    const record = await callOne(subscriber, input, check);
    onCall(subscriber, record.record);
    return record;
  };

  switch (point.kind) {
    case "event":
      return (await runEvent(point, payload, ordered, call)) as OutcomeOf<H>;
    case "filter":
      return (await runFilter(point, payload, ordered, call)) as OutcomeOf<H>;
    case "decision":
      return (await runDecision(point, payload, ordered, call)) as OutcomeOf<H>;
    case "collect":
      return (await runCollect(point, payload, ordered, call)) as OutcomeOf<H>;
  }
}

type Call = (
  subscriber: Subscriber,
  input: unknown,
  check: (result: unknown) => unknown,
) => Promise<{ record: CallRecord; value?: unknown }>;

async function runEvent(_point: EventHookPoint, payload: unknown, ordered: Subscriber[], call: Call): Promise<EventOutcome> {
  const results = await mapLimited(ordered, MAX_IN_FLIGHT, (subscriber) => call(subscriber, payload, () => undefined));
  return { calls: results.map((result) => result.record) };
}

async function runFilter(point: FilterHookPoint, payload: unknown, ordered: Subscriber[], call: Call): Promise<FilterOutcome<unknown>> {
  const calls: CallRecord[] = [];
  let value = payload;

  // Each step receives the previous step's output. A failed or invalid step is skipped.
  for (const subscriber of ordered) {
    const result = await call(subscriber, value, (output) => parseResult(point.payload, output));
    calls.push(result.record);
    if (result.record.status === "ok") {
      value = result.value;
    } else if (point.errorPolicy === "abort") {
      return { value, calls, abortedBy: subscriber.plugin };
    }
  }
  return { value, calls };
}

async function runDecision(point: DecisionHookPoint, payload: unknown, ordered: Subscriber[], call: Call): Promise<DecisionOutcome> {
  const results = await mapLimited(ordered, MAX_IN_FLIGHT, (subscriber) =>
    call(subscriber, payload, (output) => parseResult(decisionResultSchema, output)),
  );

  const refusals: DecisionOutcome["refusals"] = [];
  results.forEach((result, index) => {
    const plugin = ordered[index]?.plugin ?? "";
    const decision = result.value as v.InferOutput<typeof decisionResultSchema> | undefined;
    if (result.record.status === "ok" && decision?.allow === false) {
      refusals.push({ plugin, reason: decision.reason });
    } else if (result.record.status !== "ok" && point.errorPolicy === "abort") {
      // Under `abort` a plugin that fails counts as a refusal, so a broken guard fails closed.
      refusals.push({ plugin, reason: `the plugin did not answer (${result.record.error?.code ?? "unknown"})` });
    }
  });
  return { allowed: refusals.length === 0, refusals, calls: results.map((result) => result.record) };
}

async function runCollect(point: CollectHookPoint, payload: unknown, ordered: Subscriber[], call: Call): Promise<CollectOutcome<unknown>> {
  const listSchema = v.pipe(v.array(point.item), v.maxLength(MAX_COLLECT_ITEMS));
  const results = await mapLimited(ordered, MAX_IN_FLIGHT, (subscriber) =>
    call(subscriber, payload, (output) => parseResult(listSchema, output)),
  );

  const items: CollectOutcome<unknown>["items"] = [];
  results.forEach((result, index) => {
    if (result.record.status !== "ok") return;
    const plugin = ordered[index]?.plugin ?? "";
    for (const item of result.value as unknown[]) items.push({ plugin, item });
  });
  return { items, calls: results.map((result) => result.record) };
}

async function callOne(subscriber: Subscriber, input: unknown, check: (result: unknown) => unknown) {
  const base = { plugin: subscriber.plugin, version: subscriber.version };

  let output: unknown;
  try {
    output = await subscriber.invoke(input);
  } catch (error) {
    const failure = asBerthError(error);
    const status = failure.code === "ERR_HOOK_TIMEOUT" ? "timeout" : "failed";
    return { record: { ...base, status, error: { code: failure.code, message: failure.message } } as CallRecord };
  }

  try {
    return { record: { ...base, status: "ok" } as CallRecord, value: check(output) };
  } catch (error) {
    const failure = asBerthError(error);
    return { record: { ...base, status: "invalid", error: { code: failure.code, message: failure.message } } as CallRecord };
  }
}

function parseResult(schema: AnySchema, output: unknown): unknown {
  const parsed = v.safeParse(schema, output);
  if (parsed.success) return parsed.output;

  // Plugin output is untrusted: name the field, never quote the value.
  const issue = parsed.issues[0];
  const path = issue === undefined ? null : v.getDotPath(issue);
  const where = path === null ? "the result" : `result.${path}`;
  throw new BerthError("ERR_HOOK_RESULT_INVALID", `${where} does not match the hook point's schema (expected ${issue?.expected ?? "a valid value"})`, {
    path: where,
  });
}

function asBerthError(error: unknown): BerthError {
  if (error instanceof BerthError) return error;
  return new BerthError("ERR_HOOK_FAILED", "the hook method threw", { cause: error });
}

/** Maps over `items` with at most `limit` calls of `task` in flight, keeping order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
