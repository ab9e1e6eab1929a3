/**
 * `berth init <dir>`: creates a plugin project in a new or empty folder.
 *
 * @module
 */
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

import type { Command } from "commander";

import { PLUGIN_NAME } from "../package/names.ts";
import { CliError, usageError } from "./errors.ts";
import { scaffoldFiles } from "./init-templates.ts";
import { SDK_VERSION, displayPath, print } from "./output.ts";

/** The publisher a new project gets unless `--publisher` is given. */
export const DEFAULT_PUBLISHER = "my-publisher";

interface InitOptions {
  name?: string;
  publisher: string;
}

/** Registers `berth init`. */
export function registerInit(program: Command): void {
  program
    .command("init")
    .description("create a plugin project in a new or empty folder")
    .argument("<dir>", "folder to create the project in; created when missing")
    .option("--name <name>", "plugin name: lower-case letters, digits and inner hyphens (default: the folder's name)")
    .option("--publisher <publisher>", "publisher name; must match the publisher of the key you sign with", DEFAULT_PUBLISHER)
    .action(async (dir: string, options: InitOptions) => {
      await initProject(dir, options);
    });
}

async function initProject(dir: string, options: InitOptions): Promise<void> {
  const root = resolve(dir);
  const name = options.name ?? basename(root);
  if (!PLUGIN_NAME.test(name)) {
    const source = options.name === undefined ? `the folder name "${name}"` : `--name "${name}"`;
    throw usageError(`${source} is not a valid plugin name; use 1 to 64 lower-case letters, digits or inner hyphens, for example --name ticket-counter`);
  }
  if (!PLUGIN_NAME.test(options.publisher)) {
    throw usageError(`--publisher "${options.publisher}" is not a valid publisher name; use 1 to 64 lower-case letters, digits or inner hyphens`);
  }
  await requireEmptyFolder(root);

  const files = scaffoldFiles({ name, publisher: options.publisher, sdkVersion: SDK_VERSION });
  const written: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    // "wx" fails if another process created the file since the emptiness check.
    await writeFile(target, content, { flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
      throw new CliError("ERR_CLI_DIR_NOT_EMPTY", `${displayPath(target)} appeared while berth init was writing; pass a new or empty folder`);
    });
    written.push(displayPath(target));
  }

  const folder = displayPath(root);
  print(
    `created plugin ${name} (publisher ${options.publisher}) in ${folder}`,
    ...written.map((path) => `  ${path}`),
    "next steps:",
    `  berth keygen --publisher ${options.publisher} --out keys`,
    `  berth build ${folder}`,
    `  berth sign ${folder} --key keys/${options.publisher}.private.json`,
  );
}

async function requireEmptyFolder(root: string): Promise<void> {
  const info = await stat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) return;

  if (!info.isDirectory()) throw usageError(`${displayPath(root)} exists and is not a folder; pass a new or empty folder`);
  const entries = await readdir(root);
  if (entries.length > 0) {
    throw new CliError(
      "ERR_CLI_DIR_NOT_EMPTY",
      `${displayPath(root)} is not empty (${entries.length} ${entries.length === 1 ? "entry" : "entries"}); pass a new or empty folder so no file is overwritten`,
    );
  }
}
