// Figure 5: resident memory of the workerd process per loaded idle plugin
// isolate, read from /proc outside the process.
import { pluginModuleSource } from "../../../bench/fixtures.ts";
import { fillerPlugin, install, range } from "../fixtures.mjs";
import { row, target } from "./rows.mjs";

/** Figure 5's target: RSS per loaded idle isolate, in MB. */
const MEMORY_TARGET_MB = 2;
const MB = 1024 * 1024;
/** RSS readings averaged per measurement, and the pause between them. */
const READINGS = 3;
const READING_GAP_MS = 100;
/** Time limit of one load request, in milliseconds. */
const REQUEST_TIMEOUT_MS = 180_000;

/**
 * Measures workerd RSS per loaded isolate. Each round installs `installations`
 * plugins in a fresh tenant, reads the RSS, then loads them in `steps` slices
 * with an RSS reading after each slice. A sample is one slice's RSS growth
 * divided by its size. The same is done for isolates the Worker Loader makes
 * alone (no bindings, no tail), the floor under the framework's figure.
 */
export async function memoryPerIsolate(worker, scale) {
  const { installations, steps, rounds, settleMs } = scale.memory;
  const slice = Math.ceil(installations / steps);
  const framework = [];
  const runtime = [];
  const totals = [];

  for (let round = 1; round <= rounds; round += 1) {
    const tenant = `memory-${round}`;
    await install(worker, tenant, range(1, installations).map(fillerPlugin));

    let before = await settledRss(worker, settleMs);
    const start = before;
    for (let offset = 0; offset < installations; offset += slice) {
      const { loaded } = await worker.call("/bench/load-installed", { tenant, offset, count: slice }, REQUEST_TIMEOUT_MS);
      const after = await settledRss(worker, settleMs);
      framework.push((after - before) / loaded / MB);
      before = after;
    }
    totals.push({ round, isolates: installations, mbPerIsolate: (before - start) / installations / MB, rssMb: before / MB });

    // The same number of isolates from the Worker Loader alone, one package, a new isolate ID each.
    before = await settledRss(worker, settleMs);
    for (let offset = 0; offset < installations; offset += slice) {
      const count = Math.min(slice, installations - offset);
      const packages = Array.from({ length: count }, () => ({ name: fillerPlugin(1), version: "1.0.0" }));
      await worker.call("/bench/cold-loads", { tenant: `memory-floor-${round}`, packages, mode: "runtime" }, REQUEST_TIMEOUT_MS);
      const after = await settledRss(worker, settleMs);
      runtime.push((after - before) / count / MB);
      before = after;
    }
  }

  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const sliceMean = mean(framework);
  const floorMean = mean(runtime);
  const roundMean = totals.reduce((sum, total) => sum + total.mbPerIsolate, 0) / totals.length;
  return {
    id: 5,
    title: `Resident memory per loaded idle plugin isolate, ${installations} installations loaded`,
    clock: "outside",
    method:
      `Measured from outside: VmRSS of the workerd process that runs the bench Worker, from /proc/<pid>/status, averaged over ${READINGS} readings ${READING_GAP_MS} ms apart after a ${settleMs} ms pause. ` +
      `Each of ${rounds} round(s) installs ${installations} plugins in a fresh tenant (${(Buffer.byteLength(pluginModuleSource()) / 1024).toFixed(1)} KiB of code each, no lifecycle hooks, so installing loads nothing). ` +
      `It then loads them ${slice} at a time with the framework's \`loadPlugin\` and one call each, and reads RSS after each slice. ` +
      "A sample is one slice's RSS growth divided by its number of isolates. Then the same number of isolates is made with the Worker Loader alone (no `env` bindings, no tail). " +
      `RSS also moves with V8 garbage collection and allocator reuse, so single slices vary; whole rounds: ${totals.map((total) => `round ${total.round} ${total.mbPerIsolate.toFixed(2)} MB per isolate (RSS ${total.rssMb.toFixed(0)} MB after)`).join("; ")}.`,
    rows: [
      row("framework loadPlugin, per idle isolate", "MB", framework, { label: `${MEMORY_TARGET_MB} MB target`, value: MEMORY_TARGET_MB }),
      row("Worker Loader alone, per idle isolate", "MB", runtime, { label: `${MEMORY_TARGET_MB} MB target`, value: MEMORY_TARGET_MB }),
    ],
    target: target(
      `at most ${MEMORY_TARGET_MB} MB per loaded idle isolate`,
      roundMean <= MEMORY_TARGET_MB,
      `${roundMean.toFixed(2)} MB per isolate over whole rounds (mean of slices ${sliceMean.toFixed(2)} MB)`,
    ),
    analysis:
      roundMean <= MEMORY_TARGET_MB
        ? []
        : [
            floorMean >= MEMORY_TARGET_MB
              ? `Why the target is missed: isolates the Worker Loader makes with no env and no tail take ${floorMean.toFixed(2)} MB each too, so the floor is workerd's own memory per Dynamic Worker (its V8 isolate and context); ` +
                `the framework's env and tail add ${(sliceMean - floorMean).toFixed(2)} MB per isolate. Only loading fewer isolates at once would lower it.`
              : `Why the target is missed: isolates the Worker Loader makes with no env and no tail take ${floorMean.toFixed(2)} MB each; the framework's env and tail add ${(sliceMean - floorMean).toFixed(2)} MB per isolate, which takes it over ${MEMORY_TARGET_MB} MB.`,
          ],
  };
}

async function settledRss(worker, settleMs) {
  await new Promise((done) => setTimeout(done, settleMs));
  let total = 0;
  for (let i = 0; i < READINGS; i += 1) {
    if (i > 0) await new Promise((done) => setTimeout(done, READING_GAP_MS));
    total += await worker.rssBytes();
  }
  return total / READINGS;
}
