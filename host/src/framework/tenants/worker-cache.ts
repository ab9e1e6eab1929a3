/**
 * Reuse of the Worker stubs of a tenant's installations, keyed by everything
 * that shapes their isolate.
 *
 * @module
 */
import { loadPlugin, type LoaderContext } from "../loader/plugin-loader.ts";
import type { Installation } from "./installation.ts";

/** Most Worker stubs one tenant object keeps for reuse. */
const MAX_CACHED_WORKERS = 256;

/**
 * Returns the stub in `workers` for the installation's current shape, or loads
 * the installation's code and adds its stub, dropping the oldest stub past
 * {@link MAX_CACHED_WORKERS}. `workers` is ordered oldest first.
 */
export async function cachedWorker(workers: Map<string, WorkerStub>, installation: Installation, loaderContext: () => LoaderContext): Promise<WorkerStub> {
  // A stub is reused while everything that shapes the isolate stays the same: making a
  // new one (with its tail) per call cost more than the call itself in the warm
  // dispatch benchmark. The key contains the isolate ID's inputs as plain JSON, so equal
  // shapes written in another key order only miss the cache; loadPlugin then
  // computes the canonical isolate ID.
  const shape = `${installation.id}\n${installation.digest}\n${JSON.stringify(installation.grants)}\n${JSON.stringify(installation.config)}`;
  let worker = workers.get(shape);
  if (worker === undefined) {
    worker = await loadPlugin(installation, loaderContext());
    if (workers.size >= MAX_CACHED_WORKERS) workers.delete(workers.keys().next().value as string);
    workers.set(shape, worker);
  }
  return worker;
}
