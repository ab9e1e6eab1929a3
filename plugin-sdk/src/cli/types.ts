/**
 * `berth types`: writes TypeScript declarations for a host's hook points, read
 * from the host (`GET /v1/hook-points`) or from a saved catalogue file.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

import type { Command } from "commander";

import { generateTypes, parseCatalogue } from "../types/generate.ts";
import { connectHost, hostOption, requestHost, tokenOption } from "./host-client.ts";
import { CliError, usageError } from "./errors.ts";
import { displayPath, print } from "./output.ts";

interface TypesOptions {
  host: string;
  token?: string;
  catalogue?: string;
  out: string;
}

/** Registers `berth types`. */
export function registerTypes(program: Command): void {
  program
    .command("types")
    .description("write TypeScript declarations for a host's hook points (payloads, results, HookHandler)")
    .addOption(hostOption())
    .addOption(tokenOption())
    .option("--catalogue <file>", "read the hook point catalogue from this file (a saved GET /v1/hook-points response) instead of the host")
    .option("--out <file>", "file to write", "src/host-types.ts")
    .action(async (options: TypesOptions) => {
      await writeTypes(options);
    });
}

async function writeTypes(options: TypesOptions): Promise<void> {
  let json: unknown;
  let source: string;
  if (options.catalogue !== undefined) {
    source = options.catalogue;
    try {
      json = JSON.parse(await readFile(options.catalogue, "utf8"));
    } catch (error) {
      throw new CliError("ERR_CLI_USAGE", `cannot read the catalogue ${options.catalogue} as JSON; save one with curl .../v1/hook-points`, { cause: error });
    }
  } else {
    const connection = connectHost(options);
    if (connection.token === undefined) throw usageError("reading the catalogue from a host needs --token or BERTH_TOKEN; or pass --catalogue FILE");
    source = `${connection.url.href}v1/hook-points`;
    json = (await requestHost(connection, "GET", "/v1/hook-points")).body;
  }

  const catalogue = parseCatalogue(json);
  const out = resolve(options.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, generateTypes(catalogue, source));
  print(`wrote types for ${catalogue.hookPoints.length} hook points to ${displayPath(out)}`, `  from ${source}`);
}
