import { execFile } from "node:child_process";
import { realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { BIN, SDK_DIR, buildCli, makeTempDir, runBerth } from "./helpers/cli.ts";

let temp: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-cli-usage");
});

afterAll(async () => {
  await temp?.remove();
});

const run = (...args: string[]) => runBerth(args, { cwd: temp.dir });

describe("berth usage", () => {
  it("help lists every command", async () => {
    const result = await run("--help");

    expect(result.code).toBe(0);
    for (const command of ["init", "keygen", "build", "sign", "verify", "publish", "install"]) {
      expect(result.stdout).toMatch(new RegExp(`\\n  ${command} `));
    }
  });

  it("version prints the SDK version", async () => {
    const result = await run("--version");

    expect(result.code).toBe(0);
    expect(result.stdout).toBe("0.1.0\n");
  });

  it("command help shows options", async () => {
    const result = await run("install", "--help");
    // Commander wraps help at the terminal width, so compare with single spaces.
    const help = result.stdout.replace(/\s+/g, " ");

    expect(result.code).toBe(0);
    expect(help).toContain("--grant <capability>");
    expect(help).toContain("--config-json <json>");
    expect(help).toContain('--host <url> base URL of the Berth host (default: "http://127.0.0.1:8787", env: BERTH_HOST)');
    expect(help).not.toContain("(default: [])");
  });

  it("no arguments shows help", async () => {
    const result = await run();

    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain("Usage: berth [options] [command]");
  });

  it("unknown command is a usage error", async () => {
    const result = await run("pubish");

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: unknown command 'pubish'\n/);
    expect(result.stderr).toContain("(Did you mean publish?)");
  });

  it("missing argument is a usage error", async () => {
    const result = await run("init");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_CLI_USAGE: missing required argument 'dir'\n(add --help for usage)\n");
  });

  it("missing option is a usage error", async () => {
    const result = await run("sign");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_CLI_USAGE: required option '--key <file>' not specified\n(add --help for usage)\n");
  });

  it("unknown option is a usage error", async () => {
    const result = await run("build", "--watch");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: unknown option '--watch'\n/);
  });

  it("invalid expiry is a usage error", async () => {
    const result = await run("sign", "--key", "k.json", "--expires-in-days", "1.5");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: option '--expires-in-days <days>' argument '1\.5' is invalid\. must be a whole number of days from 1 to 3650\n/);
  });

  it("invalid host version is a usage error", async () => {
    const result = await run("verify", "--trust", "t.json", "--host-version", "latest");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: option '--host-version <version>' argument 'latest' is invalid\. must be a semver version such as 0\.1\.0\n/);
  });

  it("invalid host URL is a usage error", async () => {
    const result = await run("publish", "--host", "127.0.0.1:8787");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error ERR_CLI_USAGE: --host "127.0.0.1:8787" is not an http or https URL; pass one such as http://127.0.0.1:8787\n');
  });

  it("install requires a tenant", async () => {
    const result = await run("install", "counter");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: required option '--tenant <tenant>' not specified\n/);
  });

  it("npm links the berth bin", async () => {
    // npm links workspace bins into the root node_modules/.bin at npm install.
    const linked = join(dirname(SDK_DIR), "node_modules/.bin/berth");

    expect(await realpath(linked)).toBe(await realpath(BIN));
    const { stdout } = await promisify(execFile)(linked, ["--version"], {
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}` },
    });
    expect(stdout).toBe("0.1.0\n");
  });

  it("usage errors print no stack", async () => {
    const results = await Promise.all([run("init"), run("sign"), run("install", "Bad Name", "--tenant", "t"), run("verify", "--trust", "missing.json")]);

    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error ERR_[A-Z_]+: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
