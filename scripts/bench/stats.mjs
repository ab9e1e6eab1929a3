// Summary statistics of benchmark samples.

/**
 * Returns the q-quantile (0 to 1) of `values` by linear interpolation between
 * the closest ranks, the method numpy and R use by default.
 */
export function quantile(values, q) {
  if (values.length === 0) throw new Error("quantile of no samples: the benchmark produced no data");
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

/** Returns the median, the 95th percentile and the count of `values`. */
export function summarize(values) {
  for (const value of values) {
    if (!Number.isFinite(value)) throw new Error(`a benchmark sample is not a finite number: ${value}`);
  }
  return { median: quantile(values, 0.5), p95: quantile(values, 0.95), n: values.length };
}

/** Divides each batch total by its size: milliseconds per call, one value per batch. */
export function perCall(batchTotals, batchSize) {
  return batchTotals.map((total) => total / batchSize);
}
