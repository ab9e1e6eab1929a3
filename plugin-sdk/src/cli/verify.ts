/**
 * `berth verify`: checks a package offline with the verifier the host runs, so
 * it gives the same verdict and error code the host would. With `--profile` it
 * also runs the host's checks of hook points, capabilities and compatibility date.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

import { InvalidArgumentError, type Command } from "commander";
import semver from "semver";

import { BerthError } from "../errors.ts";
import { createTrustStore } from "../package/trust.ts";
import { checkManifestForProfile, parseHostProfile, type HostProfile } from "../package/host-profile.ts";
import { verifyPackage } from "../package/verify.ts";
import { CliError } from "./errors.ts";
import { displayPath, isoTime, print, SDK_VERSION } from "./output.ts";
import { PACKAGE_ARGUMENT_HELP, readPackageArgument } from "./package-file.ts";

interface VerifyCommandOptions {
  trust: string[];
  hostVersion?: string;
  profile?: string;
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
    .option("--host-version <version>", "host version to check the manifest's hostRange against; defaults to the profile's version, else this SDK's version", parseVersion)
    .option("--profile <file>", "host profile (hook points, capabilities, newest compatibility date) to run the host's own manifest checks offline, such as manifests/help-desk.host-profile.json")
    .action(async (target: string, options: VerifyCommandOptions) => {
      await verifyTarget(target, options);
    });
}

async function verifyTarget(target: string, options: VerifyCommandOptions): Promise<void> {
  const keys: unknown[] = [];
  for (const file of options.trust) keys.push(...(await readTrustFile(file)));
  const trust = createTrustStore(keys);

  const profile = options.profile === undefined ? undefined : await readProfile(options.profile);
  const hostVersion = options.hostVersion ?? profile?.version ?? SDK_VERSION;

  const { path, json } = await readPackageArgument(target);
  const verified = await verifyPackage(json, { trust, hostVersion });
  const { manifest } = verified;
  if (profile !== undefined) checkManifestForProfile(manifest, profile);

  const modules = Object.entries(manifest.modules).map(
    ([name, entry]) => `  module   ${name}  ${entry.size} bytes  sha256 ${entry.sha256}`,
  );
  print(
    `verified ${manifest.name}@${manifest.version} from publisher ${manifest.publisher}`,
    `  package  ${displayPath(path)}`,
    `  key      ${verified.kid}`,
    `  digest   sha256 ${verified.digest}`,
    ...modules,
    `  host     ${hostVersion} is in hostRange ${manifest.hostRange}`,
    profile === undefined
      ? "  profile  none given: hook points, capabilities and the compatibility date were not checked against a host"
      : `  profile  ${displayPath(options.profile ?? "")}: hook points, capabilities and compatibility date fit`,
    `  signed   ${isoTime(verified.issuedAt)}, expires ${verified.expiresAt === undefined ? "never" : isoTime(verified.expiresAt)}`,
  );
}

/** Reads a host profile file. Raises `ERR_CLI_USAGE` when it cannot be read, `ERR_REQUEST_INVALID` when it is malformed. */
async function readProfile(path: string): Promise<HostProfile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new CliError("ERR_CLI_USAGE", `cannot read the host profile ${path} as JSON; ask the host operator for it`, { cause: error });
  }
  return parseHostProfile(json);
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
