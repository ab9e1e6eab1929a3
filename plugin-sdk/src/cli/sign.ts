/**
 * `berth sign [dir] --key FILE`: signs the built manifest and writes the package.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { InvalidArgumentError, type Command } from "commander";
import * as v from "valibot";

import { DIST } from "../build/project.ts";
import { readSigningKey, signPlugin } from "../build/sign.ts";
import { BerthError } from "../errors.ts";
import { sha256Hex } from "../package/digest.ts";
import { issueToError } from "../package/issues.ts";
import { manifestSchema, type Manifest } from "../package/manifest.ts";
import { DEFAULT_HOST } from "./host-client.ts";
import { displayPath, isoTime, print } from "./output.ts";

/** Maximum signature lifetime `--expires-in-days` accepts, in days. */
export const MAX_EXPIRY_DAYS = 3650;

interface SignCommandOptions {
  key: string;
  expiresInDays?: number;
}

/** Registers `berth sign`. */
export function registerSign(program: Command): void {
  program
    .command("sign")
    .description("sign dist/manifest.json with a publisher's private key and write dist/package.berth.json")
    .argument("[dir]", "the plugin's project folder, built with berth build", ".")
    .requiredOption("--key <file>", "private key file written by berth keygen")
    .option("--expires-in-days <days>", `days until the signature expires, 1 to ${MAX_EXPIRY_DAYS} (default: never)`, parseDays)
    .action(async (dir: string, options: SignCommandOptions) => {
      await signProject(dir, options);
    });
}

async function signProject(dir: string, options: SignCommandOptions): Promise<void> {
  const outDir = join(dir, DIST.dir);
  const manifest = await readBuiltManifest(join(outDir, DIST.manifest));
  const key = await readSigningKey(options.key);

  // The host rejects a package whose publisher is not the key's, so check before signing.
  const keyPublisher = await readKeyPublisher(options.key);
  if (keyPublisher !== undefined && keyPublisher !== manifest.publisher) {
    throw new BerthError(
      "ERR_PUBLISHER_MISMATCH",
      `berth.json names publisher "${manifest.publisher}" but key "${key.kid}" belongs to publisher "${keyPublisher}"; change the publisher in berth.json and rebuild, or sign with a key of "${manifest.publisher}"`,
      { path: "manifest.publisher" },
    );
  }

  const now = new Date();
  const expiresInSeconds = options.expiresInDays === undefined ? undefined : options.expiresInDays * 86_400;
  const { path, pkg } = await signPlugin(outDir, key, expiresInSeconds === undefined ? { now } : { now, expiresInSeconds });
  const issuedAt = Math.floor(now.getTime() / 1000);

  print(
    `signed ${manifest.name}@${manifest.version} with key ${key.kid} (publisher ${keyPublisher ?? manifest.publisher})`,
    `  package ${displayPath(path)}`,
    `  digest  sha256 ${await sha256Hex(pkg.manifest)}`,
    `  expires ${expiresInSeconds === undefined ? "never" : isoTime(issuedAt + expiresInSeconds)}`,
    `next: berth publish ${displayPath(dir)} --host ${DEFAULT_HOST}`,
  );
}

/** Reads and validates `dist/manifest.json`. Raises `ERR_MANIFEST_INVALID` or `ERR_MANIFEST_UNKNOWN_KEY`. */
async function readBuiltManifest(path: string): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new BerthError("ERR_MANIFEST_INVALID", `the built manifest ${displayPath(path)} is missing or not valid JSON; run berth build first`, {
      path: DIST.manifest,
      cause: error,
    });
  }
  const parsed = v.safeParse(manifestSchema, json);
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_MANIFEST_INVALID", unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY", prefix: "manifest" });
  }
  return parsed.output;
}

/** Returns the `publisher` field of a key file, when it has one. */
async function readKeyPublisher(path: string): Promise<string | undefined> {
  const json = JSON.parse(await readFile(path, "utf8")) as { publisher?: unknown };
  return typeof json.publisher === "string" ? json.publisher : undefined;
}

function parseDays(value: string): number {
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > MAX_EXPIRY_DAYS) {
    throw new InvalidArgumentError(`must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}`);
  }
  return days;
}
