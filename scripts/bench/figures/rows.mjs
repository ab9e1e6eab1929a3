// The shape every figure returns, read by report.mjs and by the smoke test.
import { summarize } from "../stats.mjs";

/**
 * Returns a table row: `label`, `unit`, median, p95 and sample count of
 * `values`, and the row it is compared with. `baseline` is the label of
 * another row of the same figure, or `{ label, value }` for a fixed value such
 * as a target. A baseline row itself has none.
 */
export function row(label, unit, values, baseline) {
  return { label, unit, ...summarize(values), ...(baseline === undefined ? {} : { baseline }) };
}

/** Returns a target check: what was asked, whether it was met, and the measured value in words. */
export function target(text, met, measured) {
  return { text, met, measured };
}
