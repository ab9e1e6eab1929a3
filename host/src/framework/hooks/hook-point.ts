/**
 * Hook points: the named extension points a host developer declares. Each has a
 * kind, a payload schema, for `collect` an item schema, a timeout and an error
 * policy. Dispatch validates payloads in and results out against these schemas.
 *
 * @module
 */
import { HOOK_POINT_NAME } from "@berth/plugin-sdk/package";
import * as v from "valibot";

/** The kind of a hook point, which decides how its subscribers are combined. */
export type HookKind = "event" | "filter" | "decision" | "collect";

/** The error policy of a hook point: skip a failed subscriber, or stop and report. */
export type ErrorPolicy = "continue" | "abort";

/** Any valibot schema a hook point may use. */
export type AnySchema = v.GenericSchema<unknown, unknown>;

/** Default timeout of one plugin call, in milliseconds. */
export const DEFAULT_HOOK_TIMEOUT_MS = 2_000;

/** Host-wide ceiling on any hook point's timeout, in milliseconds. */
export const MAX_HOOK_TIMEOUT_MS = 30_000;

/** Most items one plugin may contribute to a `collect` hook point. */
export const MAX_COLLECT_ITEMS = 20;

interface HookPointBase<K extends HookKind, P extends AnySchema> {
  name: string;
  kind: K;
  description: string;
  payload: P;
  timeoutMs: number;
  errorPolicy: ErrorPolicy;
}

/** A hook point whose subscribers are all notified; results are ignored. */
export type EventHookPoint<P extends AnySchema = AnySchema> = HookPointBase<"event", P>;
/** Subscribers run in order, each receiving and returning the payload. */
export type FilterHookPoint<P extends AnySchema = AnySchema> = HookPointBase<"filter", P>;
/** Each subscriber allows or refuses with a reason; any refusal wins. */
export type DecisionHookPoint<P extends AnySchema = AnySchema> = HookPointBase<"decision", P>;
/** Each subscriber returns a list of items, tagged with the plugin in the outcome. */
export interface CollectHookPoint<P extends AnySchema = AnySchema, I extends AnySchema = AnySchema>
  extends HookPointBase<"collect", P> {
  item: I;
}

/** A declared hook point of any kind. */
export type HookPoint =
  | EventHookPoint
  | FilterHookPoint
  | DecisionHookPoint
  | CollectHookPoint;

/** The result schema of a decision subscriber. */
export const decisionResultSchema = v.variant("allow", [
  v.strictObject({ allow: v.literal(true) }),
  v.strictObject({ allow: v.literal(false), reason: v.pipe(v.string(), v.minLength(1), v.maxLength(500)) }),
]);

/** Options of {@link defineHookPoint}; `item` is required for `collect` and refused otherwise. */
export type HookPointOptions<K extends HookKind, P extends AnySchema, I extends AnySchema> = {
  name: string;
  kind: K;
  description: string;
  payload: P;
  /** Timeout of one plugin call in milliseconds, at most {@link MAX_HOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  errorPolicy?: ErrorPolicy;
} & (K extends "collect" ? { item: I } : { item?: never });

/**
 * Declares a hook point. Raises a plain `Error` at start-up for a bad name, a
 * timeout outside 1 ms to {@link MAX_HOOK_TIMEOUT_MS}, or a `collect` point
 * without an item schema: these are programmer mistakes, not input.
 */
export function defineHookPoint<P extends AnySchema, I extends AnySchema = never>(
  options: HookPointOptions<"collect", P, I>,
): CollectHookPoint<P, I>;
export function defineHookPoint<K extends Exclude<HookKind, "collect">, P extends AnySchema>(
  options: HookPointOptions<K, P, never>,
): HookPointBase<K, P>;
export function defineHookPoint(options: HookPointOptions<HookKind, AnySchema, AnySchema>): HookPoint {
  if (!HOOK_POINT_NAME.test(options.name)) {
    throw new Error(`hook point name "${options.name}" must be dot-separated camelCase words such as ticket.created`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_HOOK_TIMEOUT_MS) {
    throw new Error(`hook point ${options.name}: timeoutMs must be an integer from 1 to ${MAX_HOOK_TIMEOUT_MS}`);
  }
  if ((options.kind === "collect") !== (options.item !== undefined)) {
    throw new Error(`hook point ${options.name}: an item schema is required for collect hook points and only for them`);
  }

  const base = {
    name: options.name,
    kind: options.kind,
    description: options.description,
    payload: options.payload,
    timeoutMs,
    errorPolicy: options.errorPolicy ?? "continue",
  };
  return options.kind === "collect" ? { ...base, kind: "collect", item: options.item as AnySchema } : (base as HookPoint);
}
