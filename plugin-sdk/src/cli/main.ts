/**
 * The `berth` CLI: scaffold, key, build, sign, verify, publish and install
 * plugins, and mint API tokens. `bin/berth.js` runs this module after `build.mjs` bundles it.
 *
 * @module
 */
import { Command } from "commander";

import { registerBuild } from "./build.ts";
import { reportError } from "./errors.ts";
import { registerInit } from "./init.ts";
import { registerInstall } from "./install.ts";
import { registerKeygen } from "./keygen.ts";
import { SDK_VERSION } from "./output.ts";
import { registerPublish } from "./publish.ts";
import { registerResign } from "./resign.ts";
import { registerSign } from "./sign.ts";
import { registerToken } from "./token.ts";
import { registerTypes } from "./types.ts";
import { registerVerify } from "./verify.ts";

/** Creates the `berth` command with every subcommand registered. */
export function createProgram(): Command {
  const program = new Command("berth")
    .description("Build, sign, verify, publish and install Berth plugins")
    .version(SDK_VERSION)
    .exitOverride()
    .configureOutput({
      // One format for every error: `error CODE: message`, as for coded errors.
      outputError: (text, write) => write(`error ERR_CLI_USAGE: ${text.replace(/^error: /, "")}`),
    })
    .showHelpAfterError("(add --help for usage)");

  // Subcommands inherit exitOverride, configureOutput and showHelpAfterError from here.
  registerInit(program);
  registerKeygen(program);
  registerBuild(program);
  registerSign(program);
  registerResign(program);
  registerVerify(program);
  registerPublish(program);
  registerInstall(program);
  registerToken(program);
  registerTypes(program);
  return program;
}

/** Runs the CLI with `argv` (as in `process.argv`) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error, { stderr: (text) => process.stderr.write(text) });
  }
}

process.exitCode = await main(process.argv);
