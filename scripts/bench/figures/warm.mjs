// Figures 1, 2 and 8: warm dispatch against bare RPC calls to the same loaded
// plugins, and the same hook run by Node alternatives.
import { timeAlternatives } from "../alternatives.mjs";
import { hookPlugin, install, range } from "../fixtures.mjs";
import { perCall, summarize } from "../stats.mjs";
import { breakdownAnalysis, breakdownTable } from "./breakdown.mjs";
import { row, target } from "./rows.mjs";

/** Dispatch may cost at most this much more than a bare call (figure 1's target). */
const DISPATCH_OVERHEAD_TARGET = 1.1;

const BATCH_METHOD =
  "Timed inside the runtime: the bench tenant Durable Object runs batches of calls back to back and times each batch from an I/O turn to the last call's return (see bench/clock.ts). " +
  "Dispatch batches and bare-call batches alternate, and which goes first alternates too. One sample is one batch's total divided by its number of calls.";

/** Figure 1: warm dispatch of an event hook to one plugin against a bare RPC call. */
export async function warmDispatch(worker, scale) {
  const tenant = "warm-1";
  await install(worker, tenant, [hookPlugin(1)]);
  const comparison = await worker.call("/bench/compare-warm", { tenant, hook: "ticket.created", ...scale.warm });
  const breakdown = await worker.call("/bench/dispatch-breakdown", { tenant, hook: "ticket.created", ...scale.warm, batches: Math.max(3, Math.ceil(scale.warm.batches / 2)) });

  const bare = perCall(comparison.bareMs, comparison.batchSize);
  const dispatch = perCall(comparison.dispatchMs, comparison.batchSize);
  const ratio = summarize(dispatch).median / summarize(bare).median;

  return {
    id: 1,
    title: "Warm dispatch of an event hook to one plugin vs a bare RPC call",
    clock: "inside",
    method:
      `One installation subscribed to \`ticket.created\`, its isolate loaded. Dispatch is \`TenantObject.dispatch\` with the sample ticket: payload validation, subscriber query, \`loadPlugin\`, the call under a timeout, result bookkeeping. ` +
      `The bare call is the same method on a stub of the same isolate kept from one \`loadPlugin\`, with the same payload and context. Batches of ${comparison.batchSize} calls. ${BATCH_METHOD}`,
    rows: [row("bare RPC call", "ms", bare), row("dispatch, 1 subscriber", "ms", dispatch, "bare RPC call")],
    target: target("dispatch at most 10% slower than the bare call", ratio <= DISPATCH_OVERHEAD_TARGET, `${formatRatio(ratio)} of the bare call`),
    tables: [breakdownTable(breakdown, "Where the dispatch time goes (one subscriber; each variant's batch size calibrated to the same batch length)")],
    analysis: breakdownAnalysis(breakdown, { allowed: (DISPATCH_OVERHEAD_TARGET - 1) * summarize(bare).median, met: ratio <= DISPATCH_OVERHEAD_TARGET }),
  };
}

/** Figure 2: a 5-plugin filter chain and a 10-plugin event fan-out against as many bare calls one after another. */
export async function chainAndFanOut(worker, scale) {
  await install(worker, "chain-5", range(1, 5).map(hookPlugin));
  await install(worker, "fanout-10", range(1, 10).map(hookPlugin));
  const chain = await worker.call("/bench/compare-warm", { tenant: "chain-5", hook: "ticket.beforeCreate", ...scale.warm });
  const fanOut = await worker.call("/bench/compare-warm", { tenant: "fanout-10", hook: "ticket.created", ...scale.warm });
  const perPlugin = (comparison, plugins) =>
    (summarize(perCall(comparison.dispatchMs, comparison.batchSize)).median - summarize(perCall(comparison.bareMs, comparison.batchSize)).median) / plugins;

  return {
    id: 2,
    title: "Filter chain over 5 plugins and event fan-out over 10 plugins vs bare calls one after another",
    clock: "inside",
    method:
      "`ticket.beforeCreate` (filter) is dispatched to 5 subscribers, each step receiving the previous step's draft, and compared with 5 bare calls chained the same way. " +
      "`ticket.created` (event) is dispatched to 10 subscribers, which the framework runs at most 4 at a time (`MAX_IN_FLIGHT`), and compared with 10 bare calls one after another. " +
      `Batches of ${chain.batchSize} (filter) and ${fanOut.batchSize} (event) dispatches. ${BATCH_METHOD}`,
    rows: [
      row("5 bare calls, chained", "ms", perCall(chain.bareMs, chain.batchSize)),
      row("filter dispatch, 5 subscribers", "ms", perCall(chain.dispatchMs, chain.batchSize), "5 bare calls, chained"),
      row("10 bare calls, one after another", "ms", perCall(fanOut.bareMs, fanOut.batchSize)),
      row("event dispatch, 10 subscribers", "ms", perCall(fanOut.dispatchMs, fanOut.batchSize), "10 bare calls, one after another"),
    ],
    analysis: [
      `Per plugin, the filter chain costs ${moreOrLess(perPlugin(chain, 5))} than a bare call; the steps of figure 1 run once per plugin, one after another. ` +
        `The event fan-out costs ${moreOrLess(perPlugin(fanOut, 10))} per plugin than 10 bare calls made one after another, with up to 4 of its calls in flight at once.`,
    ],
  };
}

/**
 * Figure 8: the `ticket.beforeCreate` hook with one subscriber, run by Berth
 * (dispatch and a bare call, inside workerd) and by Node alternatives.
 */
export async function alternatives(worker, scale) {
  const berth = await worker.call("/bench/compare-warm", { tenant: "warm-1", hook: "ticket.beforeCreate", ...scale.warm });
  const node = await timeAlternatives(scale.alternatives);

  const rows = [
    row("Berth dispatch (workerd, Dynamic Worker)", "ms", perCall(berth.dispatchMs, berth.batchSize)),
    row("Berth bare RPC call (workerd, same isolate)", "ms", perCall(berth.bareMs, berth.batchSize), "Berth dispatch (workerd, Dynamic Worker)"),
  ];
  for (const [name, result] of Object.entries(node)) {
    rows.push(row(`${name} (Node)`, "ms", perCall(result.batchMs, result.batchSize), "Berth dispatch (workerd, Dynamic Worker)"));
  }

  return {
    id: 8,
    title: "The same hook run by alternatives: in-process function and isolated-vm",
    clock: "inside",
    method:
      "The `ticket.beforeCreate` auto-tagger from bench/fixtures.ts, one subscriber, the sample draft. " +
      `Berth: dispatch and bare call as in figure 1, batches of ${berth.batchSize}. ` +
      "Node rows run in the harness's process, with `performance.now()` around batches sized to the same length. " +
      "They are the same source text as a plain function, awaited, and that function with the payload and its result checked against the draft schema with valibot, as dispatch does. " +
      "The isolated-vm rows run the function inside an isolate, with payload and result copied across, called with `apply` (on isolated-vm's thread pool, like an asynchronous RPC) or `applySync`. " +
      "Ratios are to Berth dispatch. Berth and Node run different engines and event loops, so these ratios compare whole stacks.",
    rows,
  };
}

function moreOrLess(milliseconds) {
  return `${Math.abs(milliseconds).toFixed(3)} ms ${milliseconds >= 0 ? "more" : "less"}`;
}


function formatRatio(ratio) {
  return `${ratio.toFixed(2)}×`;
}
