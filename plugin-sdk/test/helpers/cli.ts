/**
 * Runs the `berth` CLI as a child process, the way an author runs it, for the
 * Node tests of the CLI and the end-to-end test.
 *
 * @module
 */
import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The plugin-sdk workspace folder. */
export const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The CLI's bin file, as npm links it. */
export const BIN = join(SDK_DIR, "bin", "berth.js");

/** Maximum time one CLI run may take before the test kills it, in milliseconds. */
const RUN_TIMEOUT_MS = 30_000;

/** What one CLI run printed and how it exited. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Bundles the CLI from the current sources with `build.mjs`, so tests never run a
 * stale `dist/cli.js`. Safe to run from test files in parallel: the build renames
 * finished files into place.
 */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(process.execPath, ["build.mjs"], { cwd: SDK_DIR, timeout: RUN_TIMEOUT_MS });
}

/** Runs `berth ...args` in `cwd` with Node 22 (the test runner's Node) and collects its output. */
export function runBerth(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  // A BERTH_HOST set in the developer's shell must not redirect the tests.
  const { BERTH_HOST: _ignored, ...inherited } = process.env;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...inherited, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: RUN_TIMEOUT_MS,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Creates an empty temporary folder; the returned function removes it. */
export async function makeTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
