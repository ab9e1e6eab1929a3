// Setup the figures share: publishing bench plugins and installing them into
// tenants through the bench Worker, in chunks so no request runs for long.

/** Packages or installations sent in one request. */
const CHUNK = 100;
/** Time limit of one setup request, in milliseconds. */
const SETUP_TIMEOUT_MS = 120_000;

/** Name of the i-th plugin that subscribes to both ticket hooks (1-based). */
export const hookPlugin = (i) => `bench-hook-${String(i).padStart(2, "0")}`;
/** Name of the i-th plugin that subscribes to no hook (1-based). */
export const fillerPlugin = (i) => `bench-filler-${String(i).padStart(4, "0")}`;

/** Returns `[from, ..., to]`. */
export function range(from, to) {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_unused, index) => from + index);
}

/** Returns a package spec for `/bench/publish`. */
export function packageSpec(name, version, { paddingBytes = 0, subscriptions = "none", lifecycle = false, nonce = "fixed" } = {}) {
  return { name, version, paddingBytes, subscriptions, lifecycle, nonce };
}

/** Publishes packages, untimed. */
export async function publish(worker, specs) {
  for (let start = 0; start < specs.length; start += CHUNK) {
    await worker.call("/bench/publish", { packages: specs.slice(start, start + CHUNK), timed: false }, SETUP_TIMEOUT_MS);
  }
}

/** Installs `names` at version 1.0.0 into `tenant`, untimed. */
export async function install(worker, tenant, names) {
  for (let start = 0; start < names.length; start += CHUNK) {
    await worker.call("/bench/install", { tenant, names: names.slice(start, start + CHUNK), version: "1.0.0", timed: false }, SETUP_TIMEOUT_MS);
  }
}

/**
 * Publishes the plugins most figures install: ten that subscribe to
 * `ticket.beforeCreate` and `ticket.created`, and `fillers` that subscribe to
 * nothing. All share one small module, so R2 stores its code once.
 */
export async function publishSharedPlugins(worker, fillers) {
  await publish(worker, range(1, 10).map((i) => packageSpec(hookPlugin(i), "1.0.0", { subscriptions: "both" })));
  await publish(worker, range(1, fillers).map((i) => packageSpec(fillerPlugin(i), "1.0.0")));
}
