// How much work each figure does. `full` is the published run; `tiny` only
// checks that the harness works end to end (the smoke test uses it).

export const SCALES = {
  full: {
    /** Overall limit of one run in milliseconds; past it the run stops with an error. */
    deadlineMs: 15 * 60_000,
    startupTimeoutMs: 120_000,
    /** Warm comparisons (figures 1, 2 and 8): batches of each kind, batch length, untimed calls first. */
    warm: { batches: 20, targetMs: 100, warmup: 100 },
    /** Cold loads (figure 3): versions loaded per size and mode, and the sizes in bytes of padding. */
    cold: { samples: 15, sizes: [{ label: "small", paddingBytes: 0 }, { label: "100 KB", paddingBytes: 100_000 }, { label: "200 KB", paddingBytes: 200_000 }] },
    /** Publish and install (figure 4): operations timed per kind. */
    lifecycle: { samples: 15 },
    /** Memory (figure 5): installations loaded per round, RSS readings per round, rounds. */
    memory: { installations: 200, steps: 4, rounds: 2, settleMs: 1_500 },
    /** Installation counts (figure 6): tenant sizes and batches per size. */
    scaling: { sizes: [10, 100, 1_000], batches: 15, targetMs: 100, warmup: 20 },
    /** HTTP (figure 7): autocannon connections, seconds per run, runs per case (alternating). */
    http: { connections: 10, seconds: 8, rounds: 2, warmupRequests: 50 },
    /** Node alternatives (figure 8): batches and batch length. */
    alternatives: { batches: 20, targetMs: 100, warmup: 2_000 },
  },
  tiny: {
    deadlineMs: 80_000,
    startupTimeoutMs: 45_000,
    warm: { batches: 3, targetMs: 10, warmup: 5 },
    cold: { samples: 2, sizes: [{ label: "small", paddingBytes: 0 }, { label: "100 KB", paddingBytes: 100_000 }, { label: "200 KB", paddingBytes: 200_000 }] },
    lifecycle: { samples: 2 },
    memory: { installations: 12, steps: 2, rounds: 1, settleMs: 200 },
    scaling: { sizes: [10, 20, 40], batches: 3, targetMs: 10, warmup: 3 },
    http: { connections: 4, seconds: 1, rounds: 1, warmupRequests: 5 },
    alternatives: { batches: 3, targetMs: 10, warmup: 50 },
  },
};

/** Returns the scale named by `BENCH_SCALE` (default `full`); raises on an unknown name. */
export function scaleFromEnvironment() {
  const name = process.env.BENCH_SCALE ?? "full";
  const scale = SCALES[name];
  if (scale === undefined) throw new Error(`BENCH_SCALE=${name} is not a known scale; use ${Object.keys(SCALES).join(" or ")}`);
  return { name, ...scale };
}
