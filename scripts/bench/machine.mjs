// The machine and the versions a benchmark run used.
import { execFile } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Returns the CPU model, core count, memory, kernel and load average. */
export function describeMachine() {
  const processors = cpus();
  return {
    cpu: processors[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    kernel: `Linux ${release()}`,
    loadAverage: loadavg(),
  };
}

/**
 * Returns the versions of Node, wrangler, workerd (asked of the running
 * binary), autocannon and isolated-vm, and the git commit of the checkout.
 */
export async function describeVersions(root, workerdPid) {
  const packageVersion = async (name) => JSON.parse(await readFile(join(root, "node_modules", name, "package.json"), "utf8")).version;
  const workerdBinary = await readlink(`/proc/${workerdPid}/exe`);
  const workerd = (await run(workerdBinary, ["--version"])).stdout.trim();
  const commit = await run("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).then(
    (result) => result.stdout.trim(),
    () => "unknown",
  );
  const dirty = await run("git", ["status", "--porcelain"], { cwd: root }).then(
    (result) => result.stdout.trim() !== "",
    () => false,
  );
  return {
    node: process.version,
    wrangler: await packageVersion("wrangler"),
    workerd,
    autocannon: await packageVersion("autocannon"),
    isolatedVm: await packageVersion("isolated-vm"),
    commit: dirty ? `${commit} with uncommitted changes` : commit,
  };
}
