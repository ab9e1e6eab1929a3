/**
 * `berth resign <package-file> --key FILE`: signs a package's manifest again,
 * with a new expiry or with another key of the same publisher. The manifest and
 * the modules stay as they are, so the host treats the result as the same
 * content and only refreshes the signature it stores.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

import { InvalidArgumentError, type Command } from "commander";
import { decodeJwt } from "jose";
import * as v from "valibot";

import { readPackageFile, readSigningKey } from "../build/sign.ts";
import { BerthError } from "../errors.ts";
import { contentDigest, sha256Hex } from "../package/digest.ts";
import { issueToError } from "../package/issues.ts";
import { manifestSchema, type Manifest } from "../package/manifest.ts";
import { signManifest } from "../package/sign.ts";
import { checkModules, parsePackage, type Package } from "../package/verify.ts";
import { usageError } from "./errors.ts";
import { DEFAULT_HOST } from "./host-client.ts";
import { displayPath, isoTime, print } from "./output.ts";
import { MAX_EXPIRY_DAYS } from "./sign.ts";

interface ResignCommandOptions {
  key: string;
  expiresInDays?: number;
  out?: string;
}

/** Registers `berth resign`. */
export function registerResign(program: Command): void {
  program
    .command("resign")
    .description(
      "sign a package's manifest again with a new expiry or another key of the same publisher; the manifest and modules stay the same. " +
        "The old signature is not checked, so resign only packages you built",
    )
    .argument("<package-file>", "a package file written by berth sign, such as dist/package.berth.json")
    .requiredOption("--key <file>", "private key file written by berth keygen")
    .option("--expires-in-days <days>", `days until the new signature expires, 1 to ${MAX_EXPIRY_DAYS} (default: never)`, parseDays)
    .option("--out <file>", "where to write the re-signed package (default: replace <package-file>)")
    .action(async (file: string, options: ResignCommandOptions) => {
      await resignPackage(file, options);
    });
}

async function resignPackage(file: string, options: ResignCommandOptions): Promise<void> {
  const pkg = parsePackage(await readPackageFile(file));
  const { manifest, claim } = readSignedManifest(pkg);
  // The new signature must bind the same code, so a changed module is caught before signing.
  await checkModules(manifest, pkg.modules);

  const key = await readSigningKey(options.key);
  const keyPublisher = await readKeyPublisher(options.key);
  if (keyPublisher !== undefined && keyPublisher !== manifest.publisher) {
    throw new BerthError(
      "ERR_PUBLISHER_MISMATCH",
      `the package's publisher is "${manifest.publisher}" but key "${key.kid}" belongs to publisher "${keyPublisher}"; resign with a key of "${manifest.publisher}"`,
      { path: "manifest.publisher" },
    );
  }

  const now = new Date();
  const expiresInSeconds = options.expiresInDays === undefined ? undefined : options.expiresInDays * 86_400;
  // The claim is signed exactly as it was, so the new token carries the same manifest JSON.
  const token = await signManifest(claim as Manifest, key, expiresInSeconds === undefined ? { now } : { now, expiresInSeconds });
  const out = options.out ?? file;
  await writeFile(out, `${JSON.stringify({ manifest: token, modules: pkg.modules } satisfies Package)}\n`).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT" && error.code !== "ENOTDIR") throw error;
    throw usageError(`cannot write ${displayPath(out)}: the folder ${displayPath(dirname(out))} does not exist; create it or pass another --out file`);
  });

  const issuedAt = Math.floor(now.getTime() / 1000);
  print(
    `re-signed ${manifest.name}@${manifest.version} with key ${key.kid} (publisher ${manifest.publisher})`,
    `  package ${displayPath(out)}`,
    `  content sha256 ${await contentDigest(manifest)} (unchanged)`,
    `  digest  sha256 ${await sha256Hex(token)}`,
    `  expires ${expiresInSeconds === undefined ? "never" : isoTime(issuedAt + expiresInSeconds)}`,
    `next: berth publish ${displayPath(out)} --host ${DEFAULT_HOST}`,
  );
}

/**
 * Returns the manifest claim inside the package's signed manifest, as sent and as
 * validated, without verifying the signature. Raises `ERR_JWS_MALFORMED`,
 * `ERR_MANIFEST_INVALID` or `ERR_MANIFEST_UNKNOWN_KEY`.
 */
function readSignedManifest(pkg: Package): { manifest: Manifest; claim: unknown } {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(pkg.manifest);
  } catch (error) {
    throw new BerthError("ERR_JWS_MALFORMED", "package.manifest is not a compact JWS; sign the manifest with berth sign first", {
      path: "package.manifest",
      cause: error,
    });
  }
  const parsed = v.safeParse(manifestSchema, claims["manifest"]);
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_MANIFEST_INVALID", unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY", prefix: "manifest" });
  }
  return { manifest: parsed.output, claim: claims["manifest"] };
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
