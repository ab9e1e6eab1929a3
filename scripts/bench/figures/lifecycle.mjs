// Figures 3 and 4: cold load of a new plugin version, and publish and install
// end to end inside the runtime.
import { packageSpec, publish, range } from "../fixtures.mjs";
import { summarize } from "../stats.mjs";
import { row, target } from "./rows.mjs";

/**
 * Figure 3's target: median framework cold load of a 100 KB plugin, in
 * milliseconds.
 *
 * NOTE: over four full runs on a shared 2-core machine the framework's load
 * took 12 to 16 ms for 100 KB, 2 to 4 ms more than the Worker Loader alone.
 * That part is `getModules` (host/src/framework/registry/code-store.ts):
 * reading each module from R2 and checking its SHA-256 digest again before
 * the first load, which the trust model requires. Under load the target can
 * be missed by that margin. Keeping recently verified module sources in
 * memory by digest would shorten loads of code already seen, but not of new code.
 */
const COLD_LOAD_TARGET_MS = 15;
/** Time limit of one timed request, in milliseconds. */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * Figure 3: for each code size, `samples` versions loaded by the framework and
 * as many loaded by the Worker Loader alone, alternating. Every version has its
 * own code (a nonce in the module), so nothing is reused between loads.
 */
export async function coldLoad(worker, scale, runId) {
  const rows = [];
  let target100 = null;
  let floor100 = null;

  for (const size of scale.cold.sizes) {
    const name = `bench-cold-${size.label.replace(/[^a-z0-9]+/gi, "").toLowerCase()}`;
    const versions = range(0, 2 * scale.cold.samples - 1).map((i) => `1.0.${i}`);
    await publish(worker, versions.map((version) => packageSpec(name, version, { paddingBytes: size.paddingBytes, nonce: `${runId}-${name}-${version}` })));

    const framework = [];
    const runtime = [];
    let codeBytes = 0;
    for (let i = 0; i < scale.cold.samples; i += 1) {
      const frameworkRef = [{ name, version: versions[i] }];
      const runtimeRef = [{ name, version: versions[scale.cold.samples + i] }];
      const order = i % 2 === 0 ? ["framework", "runtime"] : ["runtime", "framework"];
      for (const mode of order) {
        const result = await worker.call("/bench/cold-loads", { tenant: "cold", packages: mode === "framework" ? frameworkRef : runtimeRef, mode }, REQUEST_TIMEOUT_MS);
        (mode === "framework" ? framework : runtime).push(...result.loadMs);
        codeBytes = result.codeBytes[0];
      }
    }

    const label = `${size.label} (${(codeBytes / 1024).toFixed(1)} KiB of code)`;
    rows.push(row(`Worker Loader alone, ${label}`, "ms", runtime));
    rows.push(row(`framework loadPlugin, ${label}`, "ms", framework, `Worker Loader alone, ${label}`));
    if (size.label === "100 KB") {
      target100 = summarize(framework).median;
      floor100 = summarize(runtime).median;
    }
  }

  const analysis = [];
  if (target100 !== null && target100 >= COLD_LOAD_TARGET_MS) {
    analysis.push(
      floor100 >= COLD_LOAD_TARGET_MS
        ? `Why the target is missed: the Worker Loader alone needs ${floor100.toFixed(1)} ms for the same 100 KB of code, already over ${COLD_LOAD_TARGET_MS} ms, so the floor is workerd compiling and starting the isolate; the framework adds ${(target100 - floor100).toFixed(1)} ms.`
        : `Why the target is missed: the Worker Loader alone needs ${floor100.toFixed(1)} ms for the same code; the framework's ${(target100 - floor100).toFixed(1)} ms on top (reading the modules from R2, checking their SHA-256 digests, building the env and tail bindings) takes it over ${COLD_LOAD_TARGET_MS} ms.`,
    );
  }

  return {
    id: 3,
    title: "Cold load of a new plugin version, small and large",
    clock: "inside",
    method:
      "Each sample is one new plugin version (its own code and digest) loaded for the first time and called once (`ping`), timed inside the tenant Durable Object from an I/O turn to the call's return. " +
      "Framework: `loadPlugin` for an installation of that version, as the first dispatch after an install or upgrade runs it: isolate ID, code read from R2 with every module digest checked, `env` and tail bindings, the loader. " +
      "Worker Loader alone: `env.LOADER.get` with the code already in memory, no bindings and no tail, then the same call. The two alternate. " +
      "Padding code is plain functions in a table the module reads, so V8 parses all of it (bench/fixtures.ts). " +
      "Each sample is one operation on workerd's clock, which has 1 ms resolution, so samples are whole milliseconds and medians fall on whole or half milliseconds.",
    rows,
    target: target100 === null ? undefined : target(`median framework cold load of the 100 KB plugin under ${COLD_LOAD_TARGET_MS} ms`, target100 < COLD_LOAD_TARGET_MS, `${target100.toFixed(1)} ms`),
    analysis,
  };
}

/**
 * Figure 4: publish (verify and store) of a small and a 200 KB package, and
 * install of a plugin with and without lifecycle hooks, each through the host's
 * own `/v1` handler called inside the runtime.
 */
export async function publishAndInstall(worker, scale, runId) {
  const samples = scale.lifecycle.samples;
  const small = [];
  const large = [];
  for (let i = 0; i < samples; i += 1) {
    const smallSpec = packageSpec("bench-pub-small", `1.0.${i}`, { nonce: `${runId}-pub-small-${i}` });
    const largeSpec = packageSpec("bench-pub-large", `1.0.${i}`, { paddingBytes: 200_000, nonce: `${runId}-pub-large-${i}` });
    small.push(...(await worker.call("/bench/publish", { packages: [smallSpec], timed: true }, REQUEST_TIMEOUT_MS)).ms);
    large.push(...(await worker.call("/bench/publish", { packages: [largeSpec], timed: true }, REQUEST_TIMEOUT_MS)).ms);
  }

  const plainNames = range(1, samples).map((i) => `bench-install-plain-${i}`);
  const lifecycleNames = range(1, samples).map((i) => `bench-install-hooks-${i}`);
  await publish(worker, plainNames.map((name) => packageSpec(name, "1.0.0")));
  await publish(worker, lifecycleNames.map((name) => packageSpec(name, "1.0.0", { lifecycle: true })));
  // Open the tenant first, so the first timed install does not include starting its Durable Object.
  await worker.call("/bench/installation-count", { tenant: "install-timed" });

  const plain = [];
  const withHooks = [];
  for (let i = 0; i < samples; i += 1) {
    plain.push(...(await worker.call("/bench/install", { tenant: "install-timed", names: [plainNames[i]], version: "1.0.0", timed: true }, REQUEST_TIMEOUT_MS)).ms);
    withHooks.push(...(await worker.call("/bench/install", { tenant: "install-timed", names: [lifecycleNames[i]], version: "1.0.0", timed: true }, REQUEST_TIMEOUT_MS)).ms);
  }

  return {
    id: 4,
    title: "Publish (verify and store) and install, end to end inside the runtime",
    clock: "inside",
    method:
      "The bench Worker calls the host's own `/v1` fetch handler in its isolate (routing, JSON body, the same code an HTTP request runs, without the socket) and times each call from an I/O turn to the response. " +
      "Every request carries an operator bearer token, which the API verifies (Ed25519) first. " +
      "Publish: `POST /v1/plugins` with a package signed beforehand (signing is not timed): size checks, manifest schema, JWS verification against the trust store, module digests, R2 write, registry Durable Object. " +
      "Install: `POST /v1/tenants/:tenant/installations`: registry lookup, signature check against today's trust store, grants and config, the tenant Durable Object's install. " +
      "With lifecycle hooks the plugin's `install` and `enable` methods run, so the install includes the plugin's cold load. Publishes of the two sizes alternate, and so do the two kinds of install. " +
      "Each sample is one operation on workerd's clock, which has 1 ms resolution, so samples are whole milliseconds.",
    rows: [
      row("publish, small package", "ms", small),
      row("publish, 200 KB package", "ms", large, "publish, small package"),
      row("install, no lifecycle hooks", "ms", plain),
      row("install with install and enable hooks", "ms", withHooks, "install, no lifecycle hooks"),
    ],
  };
}
