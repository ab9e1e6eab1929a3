/**
 * `berth verify`: checks a package offline with the verifier the host runs, so
 * it gives the same verdict and error code the host would.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

import { InvalidArgumentError, type Command } from "commander";
import semver from "semver";

import { BerthError } from "../errors.ts";
import { createTrustStore } from "../package/trust.ts";
import { verifyPackage } from "../package/verify.ts";
import { displayPath, isoTime, print, SDK_VERSION } from "./output.ts";
import { PACKAGE_ARGUMENT_HELP, readPackageArgument } from "./package-file.ts";

interface VerifyCommandOptions {
  trust: string[];
  hostVersion: string;
}

/** Registers `berth verify`. */
export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("verify a signed package as the host does: size limits, signature, trusted key, manifest, module digests, host range")
    .argument("[target]", PACKAGE_ARGUMENT_HELP, ".")
    .requiredOption(
      "--trust <file>",
      "trusted keys: a JSON array of trusted-key entries, or one entry such as a .public.json from berth keygen; repeat to add files",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--host-version <version>", "host version to check the manifest's hostRange against; defaults to this SDK's version", parseVersion, SDK_VERSION)
    .action(async (target: string, options: VerifyCommandOptions) => {
      await verifyTarget(target, options);
    });
}

async function verifyTarget(target: string, options: VerifyCommandOptions): Promise<void> {
  const keys: unknown[] = [];
  for (const file of options.trust) keys.push(...(await readTrustFile(file)));
  const trust = createTrustStore(keys);

  const { path, json } = await readPackageArgument(target);
  const verified = await verifyPackage(json, { trust, hostVersion: options.hostVersion });
  const { manifest } = verified;

  const modules = Object.entries(manifest.modules).map(
    ([name, entry]) => `  module   ${name}  ${entry.size} bytes  sha256 ${entry.sha256}`,
  );
  print(
    `verified ${manifest.name}@${manifest.version} from publisher ${manifest.publisher}`,
    `  package  ${displayPath(path)}`,
    `  key      ${verified.kid}`,
    `  digest   sha256 ${verified.digest}`,
    ...modules,
    `  host     ${options.hostVersion} is in hostRange ${manifest.hostRange}`,
    `  signed   ${isoTime(verified.issuedAt)}, expires ${verified.expiresAt === undefined ? "never" : isoTime(verified.expiresAt)}`,
  );
}

function parseVersion(value: string): string {
  if (semver.valid(value) !== value) throw new InvalidArgumentError("must be a semver version such as 0.1.0");
  return value;
}

/** Reads a trust file: an array of trusted-key entries or a single entry. Raises `ERR_TRUST_KEY_INVALID`. */
async function readTrustFile(path: string): Promise<unknown[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new BerthError("ERR_TRUST_KEY_INVALID", `the trust file ${displayPath(path)} is missing or not valid JSON; pass a .public.json from berth keygen or a JSON array of trusted keys`, {
      cause: error,
    });
  }
  return Array.isArray(json) ? json : [json];
}
