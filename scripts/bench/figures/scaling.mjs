// Figure 6: dispatch time against the number of installations in the tenant,
// with 3 of them subscribed to the hook.
import { fillerPlugin, hookPlugin, install, range } from "../fixtures.mjs";
import { perCall, summarize } from "../stats.mjs";
import { addedCost, breakdownTable, stepNames } from "./breakdown.mjs";
import { row, target } from "./rows.mjs";

/** Subscribed installations in every tenant of this figure. */
const SUBSCRIBERS = 3;
/** Figure 6's target: the largest tenant at most this much slower than the smallest. */
const FLAT_TARGET = 1.1;
/** Time limit of one batch request, in milliseconds. */
const REQUEST_TIMEOUT_MS = 180_000;

/**
 * Times dispatch in one tenant per size, each with 3 plugins subscribed to
 * `ticket.created` and the rest subscribed to nothing. Batches of dispatches
 * run round-robin over the tenants, so a change in machine load hits every
 * size alike. Each tenant's batch size is calibrated once, on its first batch.
 */
export async function installationScaling(worker, scale) {
  const { sizes, batches, targetMs, warmup } = scale.scaling;
  for (const size of sizes) {
    await install(worker, `scale-${size}`, [...range(1, SUBSCRIBERS).map(hookPlugin), ...range(1, size - SUBSCRIBERS).map(fillerPlugin)]);
  }

  const batchSizes = {};
  const samples = Object.fromEntries(sizes.map((size) => [size, []]));
  for (let batch = 0; batch < batches; batch += 1) {
    for (const size of sizes) {
      const request = { tenant: `scale-${size}`, hook: "ticket.created", batches: 1, targetMs, warmup: batch === 0 ? warmup : 0 };
      if (batchSizes[size] !== undefined) request.batchSize = batchSizes[size];
      const result = await worker.call("/bench/dispatch-batches", request, REQUEST_TIMEOUT_MS);
      if (result.installations !== size || result.subscribers !== SUBSCRIBERS) {
        throw new Error(`tenant scale-${size} has ${result.installations} installations and ${result.subscribers} subscribers, expected ${size} and ${SUBSCRIBERS}`);
      }
      batchSizes[size] = result.batchSize;
      samples[size].push(...perCall(result.batchMs, result.batchSize));
    }
  }

  const smallest = sizes[0];
  const largest = sizes[sizes.length - 1];
  const breakdownRequest = { hook: "ticket.created", batches: Math.max(3, Math.ceil(batches / 3)), targetMs, warmup: 2 };
  const smallBreakdown = await worker.call("/bench/dispatch-breakdown", { tenant: `scale-${smallest}`, ...breakdownRequest }, REQUEST_TIMEOUT_MS);
  const largeBreakdown = await worker.call("/bench/dispatch-breakdown", { tenant: `scale-${largest}`, ...breakdownRequest }, REQUEST_TIMEOUT_MS);

  const baseline = `${smallest} installations`;
  const ratio = summarize(samples[largest]).median / summarize(samples[smallest]).median;
  const met = ratio <= FLAT_TARGET;
  const growth = (name) => addedCost(largeBreakdown, name) - addedCost(smallBreakdown, name);
  const steps = stepNames(largeBreakdown).sort((a, b) => growth(b) - growth(a));
  const analysis = [
    `From ${smallest} to ${largest} installations a dispatch goes from ${summarize(samples[smallest]).median.toFixed(3)} to ${summarize(samples[largest]).median.toFixed(3)} ms (${ratio.toFixed(2)}×). ` +
      `In the breakdowns, timed alone on a call without the tail, ${steps[0].slice(2)} goes from ${addedCost(smallBreakdown, steps[0]).toFixed(3)} to ${addedCost(largeBreakdown, steps[0]).toFixed(3)} ms, ` +
      `and ${steps[1].slice(2)}, the step that grows next most, from ${addedCost(smallBreakdown, steps[1]).toFixed(3)} to ${addedCost(largeBreakdown, steps[1]).toFixed(3)} ms.`,
  ];
  if (!met) {
    const [grower] = steps;
    analysis.push(
      `Why the target is missed: the step that grows most with the tenant is ${grower.slice(2)} (+${growth(grower).toFixed(3)} ms per dispatch at ${largest} installations): ` +
        `${largeBreakdown.descriptions[grower] ?? grower}. What would fix it is in the NOTE in bench/breakdown.ts.`,
    );
  }

  return {
    id: 6,
    title: `Dispatch time with ${sizes.join(", ")} installations, ${SUBSCRIBERS} of them subscribed`,
    clock: "inside",
    method:
      `One tenant per size; in each, ${SUBSCRIBERS} installations subscribe to \`ticket.created\` and the others to no hook. A sample is one batch of dispatches of \`ticket.created\` divided by its size ` +
      `(batch sizes ${sizes.map((size) => `${size}: ${batchSizes[size]}`).join(", ")}); batches go round-robin over the tenants. ` +
      `The breakdowns below time the steps of one dispatch to the first subscriber in the smallest and the largest tenant. Timed inside the runtime as in figure 1.`,
    rows: sizes.map((size) => row(`${size} installations`, "ms", samples[size], size === sizes[0] ? undefined : baseline)),
    target: target(`flat within 10% from ${smallest} to ${largest} installations`, met, `${ratio.toFixed(2)}× at ${largest} installations`),
    tables: [
      breakdownTable(smallBreakdown, `Steps of one dispatch in the ${smallest}-installation tenant`),
      breakdownTable(largeBreakdown, `Steps of one dispatch in the ${largest}-installation tenant`),
    ],
    analysis,
  };
}
