// Starts the bench Worker under `wrangler dev` on loopback, finds its workerd
// process for memory readings, sends it requests, and stops it.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, readdir, readlink, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const HOST = "127.0.0.1";
/** Port that other tools on this machine use for `wrangler dev`; the bench never takes it. */
const RESERVED_PORT = 8787;

/** Returns a free TCP port on loopback, other than the reserved one. */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await new Promise((done, fail) => {
      const server = createServer();
      server.once("error", fail);
      server.listen(0, HOST, () => {
        const { port: chosen } = server.address();
        server.close(() => done(chosen));
      });
    });
    if (port !== RESERVED_PORT) return port;
  }
  throw new Error("found no free loopback port in 20 attempts");
}

/**
 * Bundles the bench Worker and starts `wrangler dev` on the bundle with
 * `bench/wrangler.jsonc` and a fresh state folder,
 * waits until `/v1/health` responds, and returns a handle with `url`, `call`
 * (which sends `token` as the bearer token), `rssBytes` and `stop`. The process runs in its own process group so `stop`
 * ends wrangler and its workerd children together.
 */
export async function startBenchWorker({ root, startupTimeoutMs, token }) {
  const stateDir = await mkdtemp(join(tmpdir(), "berth-bench-"));
  const port = await freePort();
  const inspectorPort = await freePort();
  const logPath = join(stateDir, "wrangler.log");
  const log = createWriteStream(logPath);

  // Bundle once up front and serve the bundle: `wrangler dev` reloads the Worker
  // whenever a source file changes, which would restart it mid-run.
  const bundleDir = join(stateDir, "bundle");
  await runWrangler(root, ["deploy", "--dry-run", "--outdir", bundleDir, "--config", join(root, "bench/wrangler.jsonc")], log);

  const child = spawn(
    process.execPath,
    [
      join(root, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      join(bundleDir, "worker.js"),
      "--no-bundle",
      "--config", join(root, "bench/wrangler.jsonc"),
      "--ip", HOST,
      "--port", String(port),
      "--inspector-port", String(inspectorPort),
      "--persist-to", join(stateDir, "state"),
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: WRANGLER_ENV,
    },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });

  const url = `http://${HOST}:${port}`;
  const handle = {
    url,
    logPath,
    stateDir: join(stateDir, "state"),
    wranglerPid: child.pid,
    workerdPid: undefined,
    token,
    call: (path, body, timeoutMs) => callJson(url, path, body, token, timeoutMs),
    rssBytes: () => rssBytes(handle.workerdPid),
    stop: (options) => stop(child, () => exited, stateDir, log, options),
  };

  try {
    await waitForHealth(url, startupTimeoutMs, () => exited, logPath);
  } catch (error) {
    await handle.stop({ keepState: true });
    throw error;
  }
  return handle;
}

const WRANGLER_ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
/** Time limit of the bundling step, in milliseconds. */
const BUNDLE_TIMEOUT_MS = 120_000;

/** Runs a wrangler command to completion, its output appended to `log`; raises on a non-zero exit. */
async function runWrangler(root, args, log) {
  const child = spawn(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: WRANGLER_ENV });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const timer = setTimeout(() => child.kill("SIGTERM"), BUNDLE_TIMEOUT_MS);
  const code = await new Promise((done) => child.once("exit", (exitCode) => done(exitCode)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`wrangler ${args[0]} exited with ${code ?? "a signal"}; see ${log.path}`);
}

/**
 * Sends a POST with a JSON body (or a GET without one) and the bearer token,
 * and returns the parsed JSON response. Raises on a non-2xx status. Bench
 * routes pass the token on to the host API calls they make.
 */
async function callJson(url, path, body, token, timeoutMs = 120_000) {
  const headers = { authorization: `Bearer ${token}` };
  const init = body === undefined ? { method: "GET", headers } : { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${init.method} ${path} returned ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  if (!response.ok) throw new Error(`${init.method} ${path} failed with ${response.status}: ${json.error?.code ?? ""} ${json.error?.message ?? text.slice(0, 300)}`);
  return json;
}

async function waitForHealth(url, timeoutMs, hasExited, logPath) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`wrangler dev exited during start-up; see ${logPath}`);
    try {
      const response = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`the bench Worker did not respond on ${url}/v1/health within ${timeoutMs / 1000} s; see ${logPath}`);
}

/**
 * Returns the PID of the workerd process that runs the bench Worker. wrangler
 * starts a second workerd for its own proxy, so this picks the one with files
 * of the state folder open, which only the Worker's Durable Objects have.
 * Call it after a Durable Object has run.
 */
export async function findWorkerdPid(wranglerPid, stateDir) {
  const candidates = (await descendants(wranglerPid)).filter((process) => process.command === "workerd");
  for (const candidate of candidates) {
    const descriptors = await readdir(`/proc/${candidate.pid}/fd`).catch(() => []);
    for (const descriptor of descriptors) {
      const target = await readlink(`/proc/${candidate.pid}/fd/${descriptor}`).catch(() => "");
      if (target.startsWith(resolve(stateDir))) return candidate.pid;
    }
  }
  throw new Error(`found no workerd process under wrangler (PID ${wranglerPid}) with files in ${stateDir} open; workerd processes seen: ${candidates.map((c) => c.pid).join(", ") || "none"}`);
}

/** Returns all processes below `pid`, from /proc. */
async function descendants(pid) {
  const all = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => null);
    if (stat === null) continue;
    // Format: pid (comm) state ppid ...; comm may contain spaces, so split at the last ')'.
    const close = stat.lastIndexOf(")");
    const command = stat.slice(stat.indexOf("(") + 1, close);
    const parent = Number(stat.slice(close + 2).split(" ")[1]);
    all.push({ pid: Number(entry), parent, command });
  }
  const result = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift();
    for (const process of all) {
      if (process.parent === current) {
        result.push(process);
        queue.push(process.pid);
      }
    }
  }
  return result;
}

/** Returns the resident set size of a process in bytes, from /proc/<pid>/status. */
export async function rssBytes(pid) {
  if (pid === undefined) throw new Error("the workerd PID is not known yet; call findWorkerdPid first");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(match[1]) * 1024;
}

async function stop(child, hasExited, stateDir, log, { keepState = false } = {}) {
  if (!hasExited()) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // The group is already gone.
    }
    const deadline = Date.now() + 5_000;
    while (!hasExited() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    if (!hasExited()) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    }
  }
  log.end();
  if (!keepState) await rm(stateDir, { recursive: true, force: true });
}
