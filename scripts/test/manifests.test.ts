/**
 * The committed signed manifests of the example plugins must match their
 * sources: each test rebuilds the plugin and compares. When one fails after a
 * change to an example, run `npm run sign-examples` and commit `manifests/`.
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildPlugin, readModules } from "../../plugin-sdk/src/build/index.ts";
import { createTrustStore, verifyPackage, type Manifest } from "../../plugin-sdk/src/package/index.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MANIFESTS_DIR = join(ROOT, "manifests");
const EXAMPLES = readdirSync(join(ROOT, "example-plugins"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** A compact JWS: three base64url parts, then the one line break the script writes. */
const ONE_LINE_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;

let outRoot: string;

beforeAll(async () => {
  outRoot = await mkdtemp(join(tmpdir(), "berth-manifests-test-"));
});

afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, "utf8")) as unknown;
}

it("finds the example plugins", () => {
  expect(EXAMPLES).toEqual(expect.arrayContaining(["audit-trail", "auto-tagger", "close-guard", "webhook-notifier"]));
});

describe.each(EXAMPLES)("manifests/%s", (name) => {
  let built: Manifest;
  let modules: Record<string, string>;
  let tokenFile: string;
  let token: string;

  beforeAll(async () => {
    const outDir = join(outRoot, name);
    built = (await buildPlugin(join(ROOT, "example-plugins", name), { outDir })).manifest;
    modules = await readModules(outDir, built);
    tokenFile = await readFile(join(MANIFESTS_DIR, `${name}.jws`), "utf8");
    token = tokenFile.trim();
  });

  it("is one compact JWS line", () => {
    expect(tokenFile).toMatch(ONE_LINE_JWS);
  });

  it("signs the module digests of a fresh build", () => {
    const signed = (decodeJwt(token) as { manifest: Manifest }).manifest;

    expect(signed.modules).toEqual(built.modules);
  });

  it("signs the manifest of a fresh build", () => {
    const signed = (decodeJwt(token) as { manifest: Manifest }).manifest;

    expect(signed).toEqual(built);
  });

  it("verifies against the trusted keys", async () => {
    const trust = createTrustStore(await readJson(join(MANIFESTS_DIR, "keys", "trusted-keys.json")));
    const { version: hostVersion } = (await readJson(join(ROOT, "host", "package.json"))) as { version: string };

    const verified = await verifyPackage({ manifest: token, modules }, { trust, hostVersion });

    expect(verified.kid).toBe("berth-dev-2026");
    expect(verified.manifest).toEqual(built);
  });

  it("has a readable copy equal to the signed one", async () => {
    const readable = await readJson(join(MANIFESTS_DIR, `${name}.manifest.json`));

    expect(readable).toEqual((decodeJwt(token) as { manifest: unknown }).manifest);
  });
});

it("has no signed manifest without an example plugin", async () => {
  const signed = (await readdir(MANIFESTS_DIR)).filter((file) => file.endsWith(".jws")).map((file) => file.slice(0, -".jws".length));

  expect(signed.sort()).toEqual(EXAMPLES);
});

it("sign-examples --check reports every plugin up to date", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, "scripts", "sign-examples.mjs"), "--check"], {
    cwd: ROOT,
    timeout: 60_000,
  });

  for (const name of EXAMPLES) expect(stdout).toContain(`${name}@`);
  expect(stdout.trim().split("\n").every((line) => line.endsWith(": up to date"))).toBe(true);
});
