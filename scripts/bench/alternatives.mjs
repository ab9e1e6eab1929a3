// Figure 8's alternatives to Berth, in Node: the same `ticket.beforeCreate`
// work (bench/fixtures.ts) as an in-process function and inside an
// isolated-vm isolate, timed in batches as the runtime side is.
import { performance } from "node:perf_hooks";

import ivm from "isolated-vm";
import * as v from "valibot";

import { HOOK_WORK_SOURCE, sampleDraft } from "../../bench/fixtures.ts";
import { ticketDraftSchema } from "../../host/src/demo/tickets.ts";

/** Bounds of one batch, whatever the calibration finds. */
const MIN_BATCH = 10;
const MAX_BATCH = 2_000_000;
/** Maximum time one variant's calibration may take, in milliseconds. */
const CALIBRATION_BUDGET_MS = 5_000;
/** Memory limit of the isolated-vm isolate in MB; the hook needs far less. */
const ISOLATE_MEMORY_MB = 32;

/**
 * Times each alternative in batches and returns, per variant, its batch size
 * and the total milliseconds of each batch. The variants rotate their order
 * from batch to batch.
 */
export async function timeAlternatives({ batches, targetMs, warmup }) {
  const draft = sampleDraft();
  const { beforeCreate } = new Function(`${HOOK_WORK_SOURCE}\nreturn { beforeCreate };`)();
  // The host checks payload and result against the hook point's schema, as dispatch does.
  const validate = (value) => {
    const parsed = v.safeParse(ticketDraftSchema, value);
    if (!parsed.success) throw new Error(`the hook result does not match the ticket draft schema: ${parsed.issues[0]?.message}`);
    return parsed.output;
  };

  const isolate = new ivm.Isolate({ memoryLimit: ISOLATE_MEMORY_MB });
  try {
    const context = await isolate.createContext();
    const script = await isolate.compileScript(HOOK_WORK_SOURCE);
    await script.run(context);
    const hook = await context.global.get("beforeCreate", { reference: true });
    const copy = { arguments: { copy: true }, result: { copy: true } };

    const variants = {
      "in-process function": async () => beforeCreate(draft),
      "in-process function + validation": async () => validate(await beforeCreate(validate(draft))),
      "isolated-vm apply (async) + validation": async () => validate(await hook.apply(undefined, [validate(draft)], copy)),
      "isolated-vm applySync + validation": async () => validate(hook.applySync(undefined, [validate(draft)], copy)),
    };

    const sizes = {};
    for (const [name, call] of Object.entries(variants)) {
      const result = await call();
      if (!result.tags.includes("billing")) throw new Error(`${name} returned tags ${JSON.stringify(result.tags)}; the hook work did not run`);
      for (let i = 0; i < warmup; i += 1) await call();
      // The first calibration also finishes warming the JIT; the second sets the size.
      await calibrate(call, targetMs);
      sizes[name] = await calibrate(call, targetMs);
    }

    const names = Object.keys(variants);
    const batchMs = Object.fromEntries(names.map((name) => [name, []]));
    for (let batch = 0; batch < batches; batch += 1) {
      for (let step = 0; step < names.length; step += 1) {
        const name = names[(batch + step) % names.length];
        batchMs[name].push(await timeBatch(sizes[name], variants[name]));
      }
    }
    return Object.fromEntries(names.map((name) => [name, { batchSize: sizes[name], batchMs: batchMs[name] }]));
  } finally {
    isolate.dispose();
  }
}

async function timeBatch(count, call) {
  const start = performance.now();
  for (let i = 0; i < count; i += 1) await call();
  return performance.now() - start;
}

/**
 * Returns how many calls fill about `targetMs`. Doubles a trial batch until it
 * lasts a quarter of the target, then sizes from the fastest of three trials
 * of that size. A pause (GC, another process) or calls still running in a
 * lower JIT tier then do not make the batches short.
 */
async function calibrate(call, targetMs) {
  const deadline = performance.now() + CALIBRATION_BUDGET_MS;
  let trial = 16;
  let elapsed = await timeBatch(trial, call);
  while (elapsed < targetMs / 4 && trial < MAX_BATCH && performance.now() < deadline) {
    trial *= 2;
    elapsed = await timeBatch(trial, call);
  }
  const fastest = Math.min(elapsed, await timeBatch(trial, call), await timeBatch(trial, call));
  return Math.min(MAX_BATCH, Math.max(MIN_BATCH, Math.round((targetMs * trial) / fastest)));
}
