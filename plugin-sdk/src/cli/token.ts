/**
 * `berth token`: mints an API bearer token for a host that trusts the signing
 * key, such as the local demo host with its development key.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

import type { Command } from "commander";
import type { JWK } from "jose";

import { mintApiToken, type TokenClaims } from "../auth/token.ts";

import { CliError, usageError } from "./errors.ts";

/** The development key the demo host trusts for tokens; never trust it in production. */
export const DEV_AUTH_KEY = "manifests/keys/auth.DEVELOPMENT-ONLY.private.json";

const ROLES = ["operator", "publisher", "tenant-admin"] as const;

interface TokenOptions {
  role: string;
  tenant?: string;
  subject?: string;
  key: string;
  expiresInHours: string;
}

/** Registers `berth token`. */
export function registerToken(program: Command): void {
  program
    .command("token")
    .description("mint an API bearer token; prints only the token, for use as $(berth token ...)")
    .requiredOption("--role <role>", `role of the token: ${ROLES.join(", ")}`)
    .option("--tenant <tenant>", "tenant a tenant-admin token acts on")
    .option("--subject <name>", "who the token is for, shown in the host's records", "berth-cli")
    .option("--key <file>", "private JWK that signs the token", DEV_AUTH_KEY)
    .option("--expires-in-hours <hours>", "lifetime of the token in hours", "12")
    .action(async (options: TokenOptions) => {
      process.stdout.write(`${await mintToken(options)}\n`);
    });
}

async function mintToken(options: TokenOptions): Promise<string> {
  if (!(ROLES as readonly string[]).includes(options.role)) {
    throw usageError(`--role "${options.role}" is not a role; use one of ${ROLES.join(", ")}`);
  }
  if (options.role === "tenant-admin" && options.tenant === undefined) {
    throw usageError("--role tenant-admin needs --tenant, the tenant the token acts on");
  }
  const hours = Number(options.expiresInHours);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 30) {
    throw usageError(`--expires-in-hours "${options.expiresInHours}" must be a number of hours from above 0 to 720`);
  }

  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(options.key, "utf8")) as JWK;
  } catch (error) {
    throw new CliError("ERR_CLI_USAGE", `cannot read the token key ${options.key}; run from the repository root or pass --key`, { cause: error });
  }
  if (typeof jwk.d !== "string" || typeof jwk.kid !== "string") {
    throw usageError(`${options.key} must be a private JWK with kid and d`);
  }

  const claims: TokenClaims =
    options.role === "tenant-admin" ? { role: "tenant-admin", tenant: options.tenant as string } : { role: options.role as "operator" | "publisher" };
  return mintApiToken(jwk, claims, { subject: options.subject ?? "berth-cli", expiresIn: `${hours}h` });
}
