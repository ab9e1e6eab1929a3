/**
 * Starts the demo host with `wrangler dev` on a free loopback port for the
 * end-to-end tests, and stops it with its whole process group.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname } from "node:path";

/** Maximum wait for `GET /v1/health` to return 200 after start, in milliseconds. */
export const STARTUP_TIMEOUT_MS = 60_000;

/** Maximum wait for the process group to exit after SIGTERM before SIGKILL, in milliseconds. */
const STOP_TIMEOUT_MS = 10_000;

/** Maximum wrangler output kept for the failure message, in characters. */
const MAX_OUTPUT = 20_000;

/** A running `wrangler dev`. */
export interface DevHost {
  url: string;
  process: ChildProcess;
  /** The last {@link MAX_OUTPUT} characters wrangler printed. */
  output: () => string;
  stop: () => Promise<void>;
}

/** Options of {@link startDevHost}. */
export interface DevHostOptions {
  /** The repository root, where `wrangler.jsonc` is. */
  cwd: string;
  /** Folder for the host's Durable Object and R2 state. */
  persistTo: string;
  /** Worker variables passed with `--var NAME:VALUE`. */
  vars?: Record<string, string>;
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("the probe server has no TCP address");
  return address.port;
}

/**
 * Starts `npx wrangler dev` in its own process group and waits until
 * `GET /v1/health` returns 200. Raises with wrangler's output if it exits or does
 * not become healthy within {@link STARTUP_TIMEOUT_MS}.
 */
export async function startDevHost(options: DevHostOptions): Promise<DevHost> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "wrangler", "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-ip", "127.0.0.1",
    "--inspector-port", String(inspectorPort),
    "--persist-to", options.persistTo,
    "--show-interactive-dev-session=false",
  ];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);

  const child = spawn("npx", args, {
    cwd: options.cwd,
    // Node 22 (the test runner's) first on PATH: wrangler refuses Node below 22.12.
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });

  let output = "";
  const append = (chunk: string) => {
    output = (output + chunk).slice(-MAX_OUTPUT);
  };
  child.stdout?.setEncoding("utf8").on("data", append);
  child.stderr?.setEncoding("utf8").on("data", append);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const host: DevHost = { url, process: child, output: () => output, stop: () => stopGroup(child, exited) };
  try {
    await waitForHealth(url, child);
  } catch (error) {
    await host.stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nwrangler output:\n${output}`);
  }
  return host;
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      const response = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`GET ${url}/v1/health did not return 200 within ${STARTUP_TIMEOUT_MS} ms`);
}

/**
 * Sends SIGTERM to the process group, waits up to {@link STOP_TIMEOUT_MS} for
 * wrangler to exit, then sends SIGKILL to whatever is left in the group.
 */
async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;

  signalGroup(pid, "SIGTERM");
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS)),
  ]);
  signalGroup(pid, "SIGKILL");
  if (timedOut) await exited;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: every process of the group has already exited.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
