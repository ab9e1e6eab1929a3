// `npm run bench`: measures what isolation costs in Berth and writes
// docs/benchmarks.md. Starts the bench Worker (bench/) under `wrangler dev` on
// loopback, runs figures 1 to 8 against it, and stops it.
//
// Options:
//   --out FILE    where to write the Markdown page (default docs/benchmarks.md)
//   --json FILE   also write every figure and sample as JSON
// Environment:
//   BENCH_SCALE   `full` (default, a few minutes) or `tiny` (seconds; only checks the harness)
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { mintOperatorToken } from "./bench/auth.mjs";
import { publishSharedPlugins } from "./bench/fixtures.mjs";
import { chainAndFanOut, alternatives, warmDispatch } from "./bench/figures/warm.mjs";
import { coldLoad, publishAndInstall } from "./bench/figures/lifecycle.mjs";
import { memoryPerIsolate } from "./bench/figures/memory.mjs";
import { installationScaling } from "./bench/figures/scaling.mjs";
import { httpTickets } from "./bench/figures/http.mjs";
import { describeMachine, describeVersions } from "./bench/machine.mjs";
import { renderReport } from "./bench/report.mjs";
import { scaleFromEnvironment } from "./bench/scales.mjs";
import { findWorkerdPid, startBenchWorker } from "./bench/runtime.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Oldest Node the harness runs on: wrangler 4.87 and later refuse Node below 22.12. */
const MIN_NODE_MAJOR = 22;

async function main() {
  const { values } = parseArgs({ options: { out: { type: "string" }, json: { type: "string" } } });
  const out = resolve(values.out ?? join(ROOT, "docs/benchmarks.md"));
  const scale = scaleFromEnvironment();

  const major = Number(process.versions.node.split(".")[0]);
  if (major < MIN_NODE_MAJOR) {
    throw new Error(`Node ${process.version} is too old: run \`npm run bench\`, which puts the project's Node 22 (node_modules/.bin/node) first on the PATH`);
  }

  const startedAt = new Date();
  const machine = describeMachine();
  // Every run stops by itself: past the scale's deadline the bench Worker is stopped and the run fails.
  const watchdog = setTimeout(() => {
    console.error(`bench: the run exceeded its ${scale.deadlineMs / 1000} s limit; stopping`);
    stopAndExit(1);
  }, scale.deadlineMs);

  log(`scale ${scale.name}: starting the bench Worker`);
  const token = await mintOperatorToken(ROOT);
  const worker = await startBenchWorker({ root: ROOT, startupTimeoutMs: scale.startupTimeoutMs, token });
  currentWorker = worker;
  let succeeded = false;
  try {
    log(`bench Worker on ${worker.url} (wrangler PID ${worker.wranglerPid}, log ${worker.logPath})`);
    const clock = await worker.call("/bench/clock", {});
    const runId = startedAt.getTime().toString(36);

    const fillers = Math.max(scale.memory.installations, scale.scaling.sizes[scale.scaling.sizes.length - 1] - 3);
    log(`publishing 10 hook plugins and ${fillers} plugins without hooks`);
    await publishSharedPlugins(worker, fillers);
    worker.workerdPid = await findWorkerdPid(worker.wranglerPid, worker.stateDir);
    const versions = await describeVersions(ROOT, worker.workerdPid);

    const steps = [
      ["1 warm dispatch", () => warmDispatch(worker, scale)],
      ["2 filter chain and fan-out", () => chainAndFanOut(worker, scale)],
      ["3 cold load", () => coldLoad(worker, scale, runId)],
      ["4 publish and install", () => publishAndInstall(worker, scale, runId)],
      ["5 memory per isolate", () => memoryPerIsolate(worker, scale)],
      ["6 installation count", () => installationScaling(worker, scale)],
      ["7 HTTP load", () => httpTickets(worker, scale)],
      ["8 alternatives", () => alternatives(worker, scale)],
    ];
    const figures = [];
    for (const [label, step] of steps) {
      const started = Date.now();
      log(`figure ${label}`);
      figures.push(await step());
      log(`figure ${label} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    figures.sort((a, b) => a.id - b.id);

    const run = {
      scale: scale.name,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      machine,
      loadAverageAtEnd: loadavg(),
      versions,
      clock,
      figures,
    };
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, renderReport(run));
    log(`wrote ${out}`);
    if (values.json !== undefined) {
      await writeFile(resolve(values.json), `${JSON.stringify(run, null, 2)}\n`);
      log(`wrote ${resolve(values.json)}`);
    }
    succeeded = true;
  } finally {
    clearTimeout(watchdog);
    currentWorker = undefined;
    // After a failure the state folder stays, with wrangler's output in it.
    await worker.stop({ keepState: !succeeded });
    if (!succeeded) console.error(`bench: wrangler output is in ${worker.logPath}`);
  }
}

let currentWorker;

function stopAndExit(code) {
  const worker = currentWorker;
  currentWorker = undefined;
  const stopped = worker === undefined ? Promise.resolve() : worker.stop({ keepState: true });
  stopped.finally(() => process.exit(code));
}

function log(message) {
  console.log(`bench: ${message}`);
}

process.on("SIGINT", () => stopAndExit(130));
process.on("SIGTERM", () => stopAndExit(143));

await main().catch((error) => {
  console.error(`bench: failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
