/**
 * Runs once in Node before the workerd tests: makes a fresh test publisher key
 * pair and builds and signs every example plugin with it, then hands both to the
 * tests (see `vitest.workers.config.ts`).
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { exportJWK, generateKeyPair } from "jose";
import type { TestProject } from "vitest/node";

import { buildPlugin, readSigningKey, signPlugin } from "../plugin-sdk/src/build/index.ts";
import type { SigningKey } from "../plugin-sdk/src/package/index.ts";

/** Keys the workerd tests sign with. */
export interface TestKeys {
  /** Trusted-key entry of the test publisher `berth-test`. */
  trusted: unknown;
  /** Private key of `berth-test`. */
  signing: SigningKey & { publisher: string };
  /** A key the host does not trust, same publisher name. */
  untrusted: SigningKey & { publisher: string };
  /** The development private JWK that signs API bearer tokens. */
  auth: Record<string, unknown>;
}

async function makeKey(kid: string): Promise<{ trusted: unknown; signing: SigningKey & { publisher: string } }> {
  const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true });
  return {
    trusted: { kid, publisher: "berth-test", alg: "Ed25519", jwk: await exportJWK(publicKey) },
    signing: { kid, publisher: "berth-test", alg: "Ed25519", jwk: await exportJWK(privateKey) },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const trusted = await makeKey("berth-test-1");
  const untrusted = await makeKey("berth-test-untrusted");
  const auth = JSON.parse(await readFile("manifests/keys/auth.DEVELOPMENT-ONLY.private.json", "utf8")) as Record<string, unknown>;
  project.provide("testKeys", { trusted: trusted.trusted, signing: trusted.signing, untrusted: untrusted.signing, auth } satisfies TestKeys);

  // Example plugins belong to the development publisher, so they are signed with
  // its committed development-only key, as `npm run sign-examples` does.
  const devKey = await readSigningKey("manifests/keys/berth-dev.DEVELOPMENT-ONLY.private.json");
  const outRoot = await mkdtemp(join(tmpdir(), "berth-examples-"));
  const packages: Record<string, unknown> = {};
  const examples = await readdir("example-plugins", { withFileTypes: true }).catch(() => []);
  for (const entry of examples) {
    if (!entry.isDirectory()) continue;
    const dir = join("example-plugins", entry.name);
    const built = await buildPlugin(dir, { outDir: join(outRoot, entry.name) });
    const { pkg } = await signPlugin(built.outDir, devKey);
    packages[built.manifest.name] = pkg;
  }
  project.provide("examplePackages", packages);

  return async () => {
    await rm(outRoot, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    testKeys: TestKeys;
    examplePackages: Record<string, unknown>;
  }
}
