/**
 * The bindings every Berth host Worker must have, under these names. The host
 * developer declares them in `wrangler.jsonc`; the framework never looks them up
 * anywhere else.
 */
export interface BerthEnv {
  /** The Worker Loader that runs plugin code (`worker_loaders`). */
  LOADER: WorkerLoader;
  /** One Durable Object per tenant: installations, plugin storage, logs, app data. */
  TENANTS: DurableObjectNamespace;
  /** One Durable Object for the catalogue of published packages. */
  REGISTRY: DurableObjectNamespace;
  /** Package code, content-addressed by SHA-256. */
  PACKAGES: R2Bucket;
  /** Extra trusted publisher keys as a JSON array, added to those the host was defined with. */
  BERTH_TRUSTED_KEYS?: string;
  /** Extra public JWKs that sign API bearer tokens, as a JSON array. */
  BERTH_AUTH_KEYS?: string;
  /** "true" in local development: lets plugins with a network grant use plain http. */
  BERTH_DEV?: string;
}
