/**
 * Timing inside workerd. Workers may see a clock that moves only when the
 * isolate waits on I/O. So every timed span here starts right after an I/O
 * turn (a zero-delay timer) and ends when an awaited plugin call, storage read
 * or subrequest returns, which is I/O too. A span then reads true elapsed time
 * whether or not the clock also moves during computation.
 *
 * `performance.now()` in workerd has millisecond resolution, so per-call figures
 * come from batches long enough (tens of milliseconds) to make that error small.
 *
 * @module
 */

/** Waits for one turn of the event loop through a timer, so the clock reads the current time. */
export async function syncClock(): Promise<void> {
  await scheduler.wait(0);
}

/** Returns the milliseconds `task` took, from an I/O turn to the end of its last await. */
export async function timeSpan(task: () => Promise<unknown>): Promise<number> {
  await syncClock();
  const start = performance.now();
  await task();
  return performance.now() - start;
}

/** Runs `call` `count` times one after another and returns the total milliseconds. */
export async function timeBatch(count: number, call: () => Promise<unknown>): Promise<number> {
  return timeSpan(async () => {
    for (let i = 0; i < count; i += 1) await call();
  });
}

/** Minimum number of calls the calibration estimate comes from. */
const MIN_TRIAL = 16;

/** Maximum time one calibration may take, in milliseconds, however slow a call is. */
const CALIBRATION_BUDGET_MS = 5_000;

/**
 * Returns how many calls of `call` fill about `targetMs`, between `min` and
 * `max`. Runs `warmup` calls first (untimed, to load isolates and warm the JIT),
 * then doubles a trial batch until it has at least 16 calls and lasts at least
 * a quarter of `targetMs`.
 */
export async function calibrateBatch(
  call: () => Promise<unknown>,
  options: { targetMs: number; warmup: number; min: number; max: number },
): Promise<number> {
  for (let i = 0; i < options.warmup; i += 1) await call();

  // The estimate comes from a trial of many calls lasting a quarter of the
  // target or more, so one slow call (a GC pause, another process) moves it little.
  const deadline = Date.now() + CALIBRATION_BUDGET_MS;
  let trial = 1;
  let elapsed = await timeBatch(trial, call);
  while ((elapsed < options.targetMs / 4 || trial < MIN_TRIAL) && trial < options.max && Date.now() < deadline) {
    trial *= 2;
    elapsed = await timeBatch(trial, call);
  }
  const perCall = Math.max(elapsed, 1) / trial;
  return Math.min(options.max, Math.max(options.min, Math.round(options.targetMs / perCall)));
}

/** Result of {@link probeClock}: milliseconds the clock moved over spans of pure computation. */
export interface ClockProbe {
  /** Elapsed over a busy loop with no I/O inside the span. */
  withoutIo: number;
  /** Elapsed over the same busy loop followed by a zero-delay timer. */
  withTimer: number;
}

/**
 * Measures whether the clock moves during computation: times a busy loop with
 * and without an I/O turn at its end. Equal numbers mean the clock moves freely;
 * `withoutIo` near 0 means it moves only on I/O.
 */
export async function probeClock(): Promise<ClockProbe> {
  await syncClock();
  let start = performance.now();
  spin(3_000_000);
  const withoutIo = performance.now() - start;

  await syncClock();
  start = performance.now();
  spin(3_000_000);
  await syncClock();
  const withTimer = performance.now() - start;
  return { withoutIo, withTimer };
}

function spin(iterations: number): number {
  let total = 0;
  for (let i = 0; i < iterations; i += 1) total = (total + i * 7) % 1_000_003;
  return total;
}
