// Renders a benchmark run as the Markdown page docs/benchmarks.md.
import { pluginModuleSource } from "../../bench/fixtures.ts";

const CLOCKS = {
  inside: "inside the runtime",
  outside: "outside the runtime",
};

/** Returns the Markdown page for a run: machine, versions, method, targets and one section per figure. */
export function renderReport(run) {
  const lines = [];
  const push = (...more) => lines.push(...more);

  push("# Benchmarks: the cost of isolation", "");
  push(
    "What running each plugin in its own Dynamic Worker costs, measured side by side with the cheapest way to do the same thing. " +
      `This page is written by \`npm run bench\` (scripts/bench.mjs); the last run used scale \`${run.scale}\`, started ${run.startedAt} and took ${(run.durationMs / 1000).toFixed(0)} s.`,
    "",
  );
  if (run.scale !== "full") push(`**Scale \`${run.scale}\`: the counts are too small for these numbers to mean anything; this run only checks the harness.**`, "");

  push("## Reproduce", "");
  push(
    "On an idle machine, from a clone: `npm install && npm run bench` (about 3 minutes on 2 cores; it needs nothing running on the machine and uses free loopback ports). " +
      "`BENCH_SCALE=tiny npm run bench` checks the harness in under a minute with counts too small to mean anything. " +
      "Compare the load averages below before comparing numbers across runs.",
    "",
  );

  push("## Machine and versions", "");
  push("| | |", "|---|---|");
  push(`| CPU | ${run.machine.cpu} |`);
  push(`| cores | ${run.machine.cores} |`);
  push(`| memory | ${run.machine.memoryGiB.toFixed(1)} GiB |`);
  push(`| kernel | ${run.machine.kernel} |`);
  push(`| load average (1, 5, 15 min) at start | ${formatLoad(run.machine.loadAverage)} |`);
  push(`| load average (1, 5, 15 min) at end | ${formatLoad(run.loadAverageAtEnd)} |`);
  push(`| Node | ${run.versions.node} |`);
  push(`| workerd | ${run.versions.workerd} |`);
  push(`| wrangler | ${run.versions.wrangler} |`);
  push(`| autocannon | ${run.versions.autocannon} |`);
  push(`| isolated-vm | ${run.versions.isolatedVm} |`);
  push(`| commit | ${run.versions.commit} |`, "");

  push("## Method", "");
  const smallPluginKiB = (Buffer.byteLength(pluginModuleSource()) / 1024).toFixed(1);
  push(
    "- The bench Worker (bench/worker.ts, bench/wrangler.jsonc) is the demo help desk host with the same Durable Objects and entrypoints, plus bench-only routes. " +
      "The harness starts it with `wrangler dev` on a free loopback port with a fresh state folder, publishes and installs bench plugins " +
      `(bench/fixtures.ts: an auto-tagger hook, ${smallPluginKiB} KiB of code unless padded), and drives each figure.`,
    "- **Inside the runtime** (figures 1, 2, 3, 4, 6 and the Berth rows of 8): code in the bench Worker or the bench tenant Durable Object times batches of calls back to back and returns the totals. " +
      "Each timed span starts after an I/O turn (a zero-delay timer) and ends when the last awaited call returns, so it reads true elapsed time even on a clock that moves only on I/O. " +
      "`performance.now()` there has millisecond resolution, so batches last tens of milliseconds (their size is calibrated per figure) and a sample is one batch's total divided by its calls.",
    `- Clock check at the start of this run: a busy loop measured ${run.clock.withoutIo} ms with no I/O inside the span and ${run.clock.withTimer} ms with a timer turn at its end. ` +
      (run.clock.withoutIo > 0
        ? "Here the clock moved during computation too; the method does not depend on it."
        : "Here the clock moved only on I/O, as the method assumes."),
    "- **Outside the runtime** (figures 5 and 7, and the Node rows of 8): RSS of the workerd process from /proc, autocannon over loopback, and `performance.now()` in Node.",
    "- Each figure lists the median and the 95th percentile (linear interpolation between ranks) of its samples. " +
      "A ratio is a row's median (or p95) divided by the median (or p95) of the row named in \"relative to\", or by a fixed target.",
    "- Comparisons alternate their two sides batch by batch, so a change in machine load hits both alike. Absolute numbers still move with load: compare the load averages above with those of another run before comparing numbers.",
    "",
  );

  push("## Targets", "");
  push("| figure | target | measured | met |", "|---|---|---|---|");
  for (const figure of run.figures) {
    if (figure.target === undefined) continue;
    push(`| ${figure.id}. ${figure.title} | ${figure.target.text} | ${figure.target.measured} | ${figure.target.met ? "yes" : "**no**"} |`);
  }
  push("");

  for (const figure of run.figures) push(...renderFigure(figure));
  return `${lines.join("\n").trimEnd()}\n`;
}

function renderFigure(figure) {
  const lines = [`## ${figure.id}. ${figure.title}`, "", `Clock: ${CLOCKS[figure.clock]}. ${figure.method}`, ""];
  lines.push("| figure | median | p95 | samples | ratio (median) | ratio (p95) | relative to |", "|---|---|---|---|---|---|---|");
  for (const row of figure.rows) {
    const base = baselineOf(figure, row);
    const ratio = base === null ? "" : formatRatio(row.median / base.median);
    const ratioP95 = base === null ? "" : formatRatio(row.p95 / base.p95);
    lines.push(`| ${row.label} | ${formatValue(row.median, row.unit)} | ${formatValue(row.p95, row.unit)} | ${row.n} | ${ratio} | ${ratioP95} | ${base === null ? "" : base.label} |`);
  }
  lines.push("");

  if (figure.target !== undefined) {
    lines.push(`Target: ${figure.target.text}. Measured: ${figure.target.measured}. ${figure.target.met ? "Met." : "**Missed.**"}`, "");
  }
  for (const table of figure.tables ?? []) {
    lines.push(`${table.title}:`, "", `| ${table.columns.join(" | ")} |`, `|${table.columns.map(() => "---").join("|")}|`);
    for (const cells of table.rows) lines.push(`| ${cells.join(" | ")} |`);
    lines.push("");
  }
  for (const paragraph of figure.analysis ?? []) lines.push(paragraph, "");
  return lines;
}

/** Returns `{ label, median, p95 }` of the row or fixed value `row` is compared with, or null. */
function baselineOf(figure, row) {
  if (row.baseline === undefined) return null;
  if (typeof row.baseline === "object") return { label: row.baseline.label, median: row.baseline.value, p95: row.baseline.value };
  const base = figure.rows.find((candidate) => candidate.label === row.baseline);
  if (base === undefined) throw new Error(`figure ${figure.id}: row "${row.label}" is relative to "${row.baseline}", which is not a row of the figure`);
  return base;
}

function formatValue(value, unit) {
  if (unit === "req/s") return `${value.toFixed(0)} req/s`;
  if (unit === "MB") return `${value.toFixed(2)} MB`;
  if (value < 1) return `${value.toFixed(3)} ${unit}`;
  if (value < 10) return `${value.toFixed(2)} ${unit}`;
  return `${value.toFixed(1)} ${unit}`;
}

/** Two decimals, or two significant digits for ratios below 0.1 so they do not read as 0.00. */
function formatRatio(ratio) {
  return `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

function formatLoad(loadAverage) {
  return loadAverage.map((value) => value.toFixed(2)).join(", ");
}
