/**
 * `berth keygen`: creates an Ed25519 publisher key pair.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import type { Command } from "commander";
import { exportJWK, generateKeyPair } from "jose";
import * as v from "valibot";

import { PLUGIN_NAME } from "../package/names.ts";
import { trustedKeySchema, type TrustedKey } from "../package/trust.ts";
import { CliError, usageError } from "./errors.ts";
import { displayPath, print } from "./output.ts";

/** Key IDs the host's trust store accepts. */
const KEY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface KeygenOptions {
  publisher: string;
  kid?: string;
  out: string;
}

/** Registers `berth keygen`. */
export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("create an Ed25519 key pair for signing a publisher's plugins")
    .requiredOption("--publisher <publisher>", "publisher name the key signs for, as in berth.json")
    .option("--kid <kid>", "key ID the host looks the key up by (default: <publisher>-<date>-<random hex>)")
    .option("--out <dir>", "folder to write the key files to", ".")
    .action(async (options: KeygenOptions) => {
      await generateKeys(options);
    });
}

async function generateKeys(options: KeygenOptions): Promise<void> {
  const { publisher } = options;
  if (!PLUGIN_NAME.test(publisher)) {
    throw usageError(`--publisher "${publisher}" is not a valid publisher name; use 1 to 64 lower-case letters, digits or inner hyphens`);
  }
  const kid = options.kid ?? `${publisher}-${new Date().toISOString().slice(0, 10)}-${randomBytes(2).toString("hex")}`;
  if (!KEY_ID.test(kid)) throw usageError(`--kid "${kid}" is not a valid key ID; use 1 to 128 characters of A-Z a-z 0-9 . _ : -`);

  const outDir = resolve(options.out);
  const privatePath = join(outDir, `${publisher}.private.json`);
  const publicPath = join(outDir, `${publisher}.public.json`);
  for (const path of [privatePath, publicPath]) {
    if (await exists(path)) {
      throw new CliError("ERR_CLI_FILE_EXISTS", `${displayPath(path)} already exists; move it away or pass another --out folder`);
    }
  }

  const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true });
  const { x, d } = await exportJWK(privateKey);
  const publicJwk = await exportJWK(publicKey);
  const trusted: TrustedKey = v.parse(trustedKeySchema, { kid, publisher, alg: "Ed25519", jwk: { kty: "OKP", crv: "Ed25519", x: publicJwk.x } });
  const secret = { kid, publisher, alg: "Ed25519", jwk: { kty: "OKP", crv: "Ed25519", x, d } };

  await mkdir(outDir, { recursive: true });
  // Mode 0600 at creation, so the private key is never readable by others, even briefly.
  await writeFile(privatePath, `${JSON.stringify(secret, null, 2)}\n`, { flag: "wx", mode: 0o600 });
  try {
    await writeFile(publicPath, `${JSON.stringify(trusted, null, 2)}\n`, { flag: "wx", mode: 0o644 });
  } catch (error) {
    await rm(privatePath, { force: true });
    throw error;
  }

  print(
    `created Ed25519 key ${kid} for publisher ${publisher}`,
    `  private key ${displayPath(privatePath)} (mode 0600; keep it secret and sign with berth sign --key ${displayPath(privatePath)})`,
    `  public key  ${displayPath(publicPath)}`,
    "give the public key file to the host operator, who adds it to the host's trusted keys",
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
