/**
 * Builds every example plugin into its `dist/` folder, signs it with the
 * development publisher's key, and writes `manifests/<name>.jws` (the signed
 * manifest, one line) and `manifests/<name>.manifest.json` (the same manifest,
 * readable).
 *
 * A plugin whose committed signed manifest still verifies against
 * `manifests/keys/trusted-keys.json` and equals the fresh build (every module
 * digest and every `berth.json` field) keeps it, because a new signature would
 * differ only in its issue time. So a second run changes nothing under
 * `manifests/`; it still writes `dist/package.berth.json` with the committed
 * signed manifest.
 *
 * Usage: node scripts/sign-examples.mjs [--check]
 *   --check  builds into a temporary folder, writes nothing, and exits with 1 when
 *            a committed manifest is missing or stale.
 *
 * It imports the SDK's TypeScript sources, so it needs Node 22.18 or later, which
 * strips types; `npm run sign-examples` runs the project's own Node 22.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES_DIR = join(ROOT, "example-plugins");
const MANIFESTS_DIR = join(ROOT, "manifests");
const SIGNING_KEY_PATH = join(MANIFESTS_DIR, "keys", "berth-dev.DEVELOPMENT-ONLY.private.json");
const TRUSTED_KEYS_PATH = join(MANIFESTS_DIR, "keys", "trusted-keys.json");
const HOST_PACKAGE_PATH = join(ROOT, "host", "package.json");

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`sign-examples needs Node 22.18 or later to import TypeScript, but this is Node ${process.versions.node}; run npm run sign-examples`);
  process.exit(1);
}

// Imported after the version check, because older Node cannot load .ts files at all.
const { DIST, buildPlugin, readModules, readSigningKey, signPlugin } = await import("../plugin-sdk/src/build/index.ts");
const { BerthError } = await import("../plugin-sdk/src/errors.ts");
const { createTrustStore, verifyPackage } = await import("../plugin-sdk/src/package/index.ts");
const { decodeJwt } = await import("jose");

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--check");
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown[0]}; usage: node scripts/sign-examples.mjs [--check]`);
  process.exit(1);
}
const check = args.includes("--check");

/** Returns the path of the signed manifest or the readable manifest of a plugin. */
function manifestPaths(name) {
  return { token: join(MANIFESTS_DIR, `${name}.jws`), readable: join(MANIFESTS_DIR, `${name}.manifest.json`) };
}

async function readText(path) {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
}

/** Returns the readable manifest file's text for a signed manifest: its payload's manifest, indented. */
function readableText(token) {
  return `${JSON.stringify(decodeJwt(token).manifest, null, 2)}\n`;
}

/**
 * Returns why the committed signed manifest at `path` cannot be kept for this
 * build, or undefined when it verifies and signs exactly the built manifest.
 */
async function staleReason(path, token, built, modules, verifyOptions) {
  const displayPath = relative(ROOT, path);
  if (token === undefined) return `${displayPath} is missing`;
  try {
    const verified = await verifyPackage({ manifest: token, modules }, verifyOptions);
    if (!isDeepStrictEqual(verified.manifest, built.manifest)) return `berth.json changed since ${displayPath} was signed`;
    return undefined;
  } catch (error) {
    if (!(error instanceof BerthError)) throw error;
    if (error.code === "ERR_MODULE_DIGEST_MISMATCH") return `the source changed since ${displayPath} was signed`;
    return `${displayPath} does not verify (${error.code}: ${error.message})`;
  }
}

/**
 * Builds, checks and if needed signs one example plugin. Returns whether its
 * committed manifests are current (always true after a write).
 */
async function processExample(dir, context) {
  const folder = relative(ROOT, dir);
  const outDir = check ? join(context.tempDir, relative(EXAMPLES_DIR, dir)) : join(dir, DIST.dir);
  const built = await buildPlugin(dir, { outDir });
  const { name, version } = built.manifest;
  const label = `${name}@${version}`;
  if (relative(EXAMPLES_DIR, dir) !== name) {
    throw new BerthError("ERR_MANIFEST_INVALID", `${folder}/berth.json names the plugin ${name}; rename the folder or the plugin so they match`);
  }

  const modules = await readModules(outDir, built.manifest);
  const paths = manifestPaths(name);
  const committed = await readText(paths.token);
  const token = committed?.trim();
  const reason = await staleReason(paths.token, token, built, modules, context.verifyOptions);

  if (reason === undefined) {
    const readableCurrent = (await readText(paths.readable)) === readableText(token);
    if (check) {
      if (!readableCurrent) console.error(`${label}: ${relative(ROOT, paths.readable)} does not match the signed manifest; run npm run sign-examples`);
      else console.log(`${label}: up to date`);
      return readableCurrent;
    }
    if (!readableCurrent) await writeFile(paths.readable, readableText(token));
    await writeFile(join(outDir, DIST.package), `${JSON.stringify({ manifest: token, modules })}\n`);
    console.log(`${label}: unchanged${readableCurrent ? "" : `; rewrote ${relative(ROOT, paths.readable)}`}`);
    return true;
  }

  if (check) {
    console.error(`${label}: ${reason}; run npm run sign-examples`);
    return false;
  }
  const { pkg } = await signPlugin(outDir, context.signingKey);
  await writeFile(paths.token, `${pkg.manifest}\n`);
  await writeFile(paths.readable, readableText(pkg.manifest));
  console.log(`${label}: signed, because ${reason}; wrote ${relative(ROOT, paths.token)} and ${relative(ROOT, paths.readable)}`);
  return true;
}

async function main() {
  const hostVersion = JSON.parse(await readFile(HOST_PACKAGE_PATH, "utf8")).version;
  const context = {
    signingKey: check ? undefined : await readSigningKey(SIGNING_KEY_PATH),
    verifyOptions: { trust: createTrustStore(JSON.parse(await readFile(TRUSTED_KEYS_PATH, "utf8"))), hostVersion },
    tempDir: check ? await mkdtemp(join(tmpdir(), "berth-sign-examples-")) : undefined,
  };

  const entries = await readdir(EXAMPLES_DIR, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  let failures = 0;
  try {
    for (const folder of folders) {
      try {
        if (!(await processExample(join(EXAMPLES_DIR, folder), context))) failures += 1;
      } catch (error) {
        failures += 1;
        const message = error instanceof BerthError ? `${error.code}: ${error.message}` : String(error?.stack ?? error);
        console.error(`example-plugins/${folder}: ${message}`);
      }
    }
  } finally {
    if (context.tempDir !== undefined) await rm(context.tempDir, { recursive: true, force: true });
  }

  // A signed manifest without an example plugin is left from a removed or renamed plugin.
  const orphans = (await readdir(MANIFESTS_DIR)).filter((file) => file.endsWith(".jws") && !folders.includes(file.slice(0, -".jws".length)));
  for (const file of orphans) console.error(`manifests/${file} belongs to no example plugin; delete it with its .manifest.json if the plugin was removed`);
  if (check) failures += orphans.length;

  if (failures > 0) {
    console.error(`${failures} problem${failures === 1 ? "" : "s"}; see above`);
    process.exitCode = 1;
  }
}

await main();
