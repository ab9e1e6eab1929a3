// Tables and analysis of the dispatch breakdown (bench/breakdown.ts), shared by
// figures 1 and 6.
import { summarize } from "../stats.mjs";

/** The variant every per-call step is added to (STEP_BASE in bench/breakdown.ts). */
const STEP_BASE = "bare, no tail";

/** Returns the median milliseconds per call of each breakdown variant, by name. */
export function breakdownMedians(breakdown) {
  return Object.fromEntries(Object.entries(breakdown.msPerCall).map(([name, values]) => [name, summarize(values).median]));
}

/** Returns the median milliseconds `name` adds to the variant it is compared with. */
export function addedCost(breakdown, name) {
  const medians = breakdownMedians(breakdown);
  return medians[name] - medians[breakdown.bases[name]];
}

/** Returns the names of the per-call steps, each timed on top of a call without the tail. */
export function stepNames(breakdown) {
  return Object.keys(breakdown.msPerCall).filter((name) => breakdown.bases[name] === STEP_BASE && name.startsWith("+ "));
}

/** Returns a table of each breakdown variant: median per call, what it adds to the variant it is compared with, and what it does. */
export function breakdownTable(breakdown, title) {
  const medians = breakdownMedians(breakdown);
  return {
    title,
    columns: ["variant", "median ms per call", "compared with", "added, ms", "calls per batch", "what it does"],
    rows: Object.entries(medians).map(([name, median]) => {
      const base = breakdown.bases[name];
      return [name, median.toFixed(3), base ?? "", base === null ? "" : signed(addedCost(breakdown, name)), String(breakdown.batchSizes[name]), breakdown.descriptions[name] ?? ""];
    }),
  };
}

/**
 * Returns paragraphs that state how much dispatch adds to a bare call, what
 * the tail costs, and which steps, timed alone, add the most. When `allowed`
 * (the most dispatch may add under the target, ms per call) is set and the
 * target was missed, a last paragraph states why.
 */
export function breakdownAnalysis(breakdown, { allowed, met }) {
  const medians = breakdownMedians(breakdown);
  const steps = stepNames(breakdown)
    .map((name) => [name.slice(2), addedCost(breakdown, name)])
    .sort((a, b) => b[1] - a[1]);
  const stepsTotal = steps.reduce((sum, [, added]) => sum + Math.max(0, added), 0);
  const tail = -addedCost(breakdown, STEP_BASE);
  const perCallLoad = addedCost(breakdown, "loadPlugin + call");
  const newStub = addedCost(breakdown, "+ new loader stub");

  const paragraphs = [
    `In the breakdown, dispatch adds ${addedCost(breakdown, "dispatch").toFixed(3)} ms per call to a ${medians["bare"].toFixed(3)} ms bare call. ` +
      `The framework's tail costs ${tail.toFixed(3)} ms of every call, bare or dispatched: the same call without it takes ${medians[STEP_BASE].toFixed(3)} ms ` +
      `(${medians["bare, no tail or env"].toFixed(3)} ms without the env as well). ` +
      `Timed alone on top of the call without the tail, the steps of dispatch add ${stepsTotal.toFixed(3)} ms together, the largest being ${steps[0][0]} (${signed(steps[0][1])} ms). ` +
      `Loading the plugin for every call on the framework's isolate, tail included, would add ${signed(perCallLoad)} ms; dispatch reuses one stub per isolate instead. ` +
      `A new loader stub for every call on the isolate without the tail adds ${signed(newStub)} ms.`,
  ];
  if (allowed !== undefined && !met) {
    const contributors = [...steps]
      .filter(([, added]) => added > allowed)
      .sort((a, b) => b[1] - a[1])
      .map(([name, added]) => `${name} (${signed(added)} ms)`);
    paragraphs.push(
      `Why the target is missed: it leaves dispatch ${allowed.toFixed(3)} ms per call on top of the bare call` +
        (contributors.length > 0 ? `, and each of these costs more on its own: ${contributors.join(", ")}. ` : `, and the steps together cost ${stepsTotal.toFixed(3)} ms. `) +
        "What would fix them is in the NOTE in bench/breakdown.ts, next to the code that repeats each step.",
    );
  }
  return paragraphs;
}

function signed(value) {
  return `${value >= 0 ? "+" : ""}${value.toFixed(3)}`;
}
