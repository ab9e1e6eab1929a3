/**
 * Runs the benchmark harness at `BENCH_SCALE=tiny` (small counts, about 15 to
 * 30 s) against a real `wrangler dev`, and checks that every figure of
 * docs/benchmarks.md comes out with numbers. It checks the harness, not the
 * numbers: tiny counts mean nothing. The output goes to a temporary folder, so
 * docs/benchmarks.md is left alone.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The harness stops itself after 80 s at this scale; this bounds the test if it does not. */
const RUN_TIMEOUT_MS = 95_000;

interface Row {
  label: string;
  unit: string;
  median: number;
  p95: number;
  n: number;
  baseline?: string | { label: string; value: number };
}

interface Figure {
  id: number;
  title: string;
  clock: "inside" | "outside";
  rows: Row[];
  target?: { text: string; met: boolean; measured: string };
}

interface Run {
  scale: string;
  machine: { cpu: string; cores: number; memoryGiB: number };
  versions: { node: string; workerd: string; wrangler: string };
  figures: Figure[];
}

let folder: string;
let run: Run;
let page: string;
let exitCode: number | null;
let output = "";

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "berth-bench-smoke-"));
  const child = spawn(process.execPath, ["scripts/bench.mjs", "--out", join(folder, "benchmarks.md"), "--json", join(folder, "benchmarks.json")], {
    env: { ...process.env, BENCH_SCALE: "tiny", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // SIGTERM lets the harness stop its wrangler process group before it exits.
  const timer = setTimeout(() => child.kill("SIGTERM"), RUN_TIMEOUT_MS);
  exitCode = await new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  clearTimeout(timer);

  if (exitCode === 0) {
    run = JSON.parse(await readFile(join(folder, "benchmarks.json"), "utf8")) as Run;
    page = await readFile(join(folder, "benchmarks.md"), "utf8");
  }
}, RUN_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("npm run bench at tiny scale", () => {
  it("exits 0", () => {
    expect(exitCode, output).toBe(0);
  });

  it("records machine and versions", () => {
    expect(run.scale).toBe("tiny");
    expect(run.machine.cores).toBeGreaterThan(0);
    expect(run.machine.cpu).not.toBe("");
    expect(run.versions.node).toMatch(/^v22\./);
    expect(run.versions.workerd).toMatch(/workerd/);
    expect(run.versions.wrangler).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("has figures 1 to 8 in order", () => {
    expect(run.figures.map((figure) => figure.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("gives every row a median, p95 and samples", () => {
    for (const figure of run.figures) {
      expect(figure.rows.length, `figure ${figure.id}`).toBeGreaterThanOrEqual(2);
      for (const row of figure.rows) {
        const where = `figure ${figure.id}, ${row.label}`;
        expect(Number.isFinite(row.median), where).toBe(true);
        expect(Number.isFinite(row.p95), where).toBe(true);
        // RSS can shrink between two readings when V8 collects garbage, so only times must be positive.
        if (row.unit !== "MB") expect(row.median, where).toBeGreaterThan(0);
        expect(row.p95, where).toBeGreaterThanOrEqual(row.median);
        expect(row.n, where).toBeGreaterThan(0);
      }
    }
  });

  it("compares every figure with a baseline", () => {
    for (const figure of run.figures) {
      const compared = figure.rows.filter((row) => row.baseline !== undefined);
      expect(compared.length, `figure ${figure.id}`).toBeGreaterThan(0);
      for (const row of compared) {
        if (typeof row.baseline === "string") expect(figure.rows.map((other) => other.label), `figure ${figure.id}`).toContain(row.baseline);
      }
    }
  });

  it("checks the targets of figures 1, 3, 5 and 6", () => {
    const withTargets = run.figures.filter((figure) => figure.target !== undefined).map((figure) => figure.id);
    expect(withTargets).toEqual([1, 3, 5, 6]);
  });

  it("says which clock each figure used", () => {
    const clocks = Object.fromEntries(run.figures.map((figure) => [figure.id, figure.clock]));
    expect(clocks).toEqual({ 1: "inside", 2: "inside", 3: "inside", 4: "inside", 5: "outside", 6: "inside", 7: "outside", 8: "inside" });
  });

  it("writes a section per figure", () => {
    for (const figure of run.figures) expect(page).toContain(`## ${figure.id}. ${figure.title}`);
    expect(page).toContain("## Machine and versions");
    expect(page).toContain("## Method");
    expect(page).toContain("## Targets");
  });
});
