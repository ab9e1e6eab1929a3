import { readFile, readdir, stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTrustStore } from "../src/package/trust.ts";
import { buildCli, makeTempDir, runBerth } from "./helpers/cli.ts";

let temp: { dir: string; remove: () => Promise<void> };
let cwd: string;

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-cli-init");
  cwd = temp.dir;
});

afterAll(async () => {
  await temp?.remove();
});

async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(join(cwd, path), "utf8"));
}

describe("berth init", () => {
  it("init writes the scaffold", async () => {
    const result = await runBerth(["init", "desk-helper", "--publisher", "acme-labs"], { cwd });

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^created plugin desk-helper \(publisher acme-labs\) in desk-helper\n/);
    for (const file of ["package.json", "berth.json", "src/index.ts", "tsconfig.json", ".gitignore"]) {
      expect(result.stdout).toContain(`  desk-helper/${file}\n`);
    }
    expect(result.stdout).toContain("berth keygen --publisher acme-labs");
    expect((await readdir(join(cwd, "desk-helper"))).sort()).toEqual([".gitignore", "berth.json", "package.json", "src", "tsconfig.json"]);
  });

  it("init writes berth.json", async () => {
    const project = await readJson("desk-helper/berth.json");

    expect(project).toEqual({
      name: "desk-helper",
      version: "0.1.0",
      publisher: "acme-labs",
      description: expect.any(String),
      hostRange: "^0.1.0",
      compatibilityDate: "2026-11-01",
      capabilities: { storage: {} },
      hooks: { "ticket.created": { entrypoint: "Hooks", method: "ticketCreated" } },
    });
  });

  it("init writes package.json", async () => {
    const pkg = await readJson("desk-helper/package.json");

    expect(pkg.name).toBe("desk-helper");
    expect(pkg.private).toBe(true);
    expect(pkg.type).toBe("module");
    expect(pkg.devDependencies["@berth/plugin-sdk"]).toBe("^0.1.0");
  });

  it("init writes a typed entrypoint", async () => {
    const source = await readFile(join(cwd, "desk-helper/src/index.ts"), "utf8");
    const gitignore = await readFile(join(cwd, "desk-helper/.gitignore"), "utf8");

    expect(source).toContain('import { WorkerEntrypoint } from "cloudflare:workers";');
    expect(source).toContain('import type { HookContext, PluginEnv } from "@berth/plugin-sdk";');
    expect(source).toContain("export class Hooks extends WorkerEntrypoint<PluginEnv>");
    expect(source).toContain("async ticketCreated(ticket: Ticket, context: HookContext)");
    expect(gitignore.split("\n")).toContain("dist/");
  });

  it("init names the plugin after the folder", async () => {
    const result = await runBerth(["init", "from-folder"], { cwd });
    const project = await readJson("from-folder/berth.json");

    expect(result.code).toBe(0);
    expect(project.name).toBe("from-folder");
    expect(project.publisher).toBe("my-publisher");
  });

  it("init rejects a non-empty folder", async () => {
    await mkdir(join(cwd, "occupied"));
    await writeFile(join(cwd, "occupied/notes.txt"), "keep me\n");

    const result = await runBerth(["init", "occupied"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("error ERR_CLI_DIR_NOT_EMPTY: occupied is not empty (1 entry); pass a new or empty folder so no file is overwritten\n");
    expect(await readdir(join(cwd, "occupied"))).toEqual(["notes.txt"]);
  });

  it("init accepts an empty folder", async () => {
    await mkdir(join(cwd, "empty"));

    const result = await runBerth(["init", "empty", "--name", "named-plugin"], { cwd });

    expect(result.code).toBe(0);
    expect((await readJson("empty/berth.json")).name).toBe("named-plugin");
  });

  it("init rejects an invalid name", async () => {
    const result = await runBerth(["init", "bad", "--name", "Bad_Name"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: --name "Bad_Name" is not a valid plugin name; use 1 to 64 lower-case letters/);
    await expect(stat(join(cwd, "bad"))).rejects.toThrow();
  });

  it("init rejects an invalid folder name", async () => {
    const result = await runBerth(["init", "Upper Case"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: the folder name "Upper Case" is not a valid plugin name; .*--name ticket-counter\n$/);
  });

  it("init reports file system errors", async () => {
    await writeFile(join(cwd, "plain-file"), "not a folder\n");

    const result = await runBerth(["init", "plain-file/inner"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ENOTDIR: not a directory, stat '.*plain-file\/inner'\n$/);
  });

  it("init rejects an invalid publisher", async () => {
    const result = await runBerth(["init", "pub-check", "--publisher", "Acme Labs"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: --publisher "Acme Labs" is not a valid publisher name/);
  });
});

describe("berth keygen", () => {
  it("keygen writes a 0600 private key", async () => {
    const result = await runBerth(["keygen", "--publisher", "acme-labs", "--out", "keys"], { cwd });
    const info = await stat(join(cwd, "keys/acme-labs.private.json"));
    const secret = await readJson("keys/acme-labs.private.json");

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(info.mode & 0o777).toBe(0o600);
    expect(secret).toEqual({
      kid: expect.stringMatching(/^acme-labs-\d{4}-\d{2}-\d{2}-[0-9a-f]{4}$/),
      publisher: "acme-labs",
      alg: "Ed25519",
      jwk: { kty: "OKP", crv: "Ed25519", x: expect.any(String), d: expect.any(String) },
    });
  });

  it("keygen writes a trusted-key entry", async () => {
    const entry = await readJson("keys/acme-labs.public.json");
    const secret = await readJson("keys/acme-labs.private.json");

    expect(entry).toEqual({ kid: secret.kid, publisher: "acme-labs", alg: "Ed25519", jwk: { kty: "OKP", crv: "Ed25519", x: secret.jwk.x } });
    expect(createTrustStore([entry]).keys.get(secret.kid)?.publisher).toBe("acme-labs");
  });

  it("keygen prints paths, never the key", async () => {
    const result = await runBerth(["keygen", "--publisher", "initech", "--kid", "initech-2026"], { cwd });
    const secret = await readJson("initech.private.json");

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^created Ed25519 key initech-2026 for publisher initech\n/);
    expect(result.stdout).toContain("private key initech.private.json (mode 0600;");
    expect(result.stdout).toContain("public key  initech.public.json\n");
    expect(result.stdout).toContain("give the public key file to the host operator");
    expect(result.stdout).not.toContain(secret.jwk.d);
  });

  it("keygen refuses to overwrite a key", async () => {
    const before = await readFile(join(cwd, "initech.private.json"), "utf8");

    const result = await runBerth(["keygen", "--publisher", "initech"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("error ERR_CLI_FILE_EXISTS: initech.private.json already exists; move it away or pass another --out folder\n");
    expect(await readFile(join(cwd, "initech.private.json"), "utf8")).toBe(before);
  });

  it("keygen rejects an invalid key ID", async () => {
    const result = await runBerth(["keygen", "--publisher", "hooli", "--kid", "has space"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: --kid "has space" is not a valid key ID/);
  });

  it("keygen requires a publisher", async () => {
    const result = await runBerth(["keygen"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: required option '--publisher <publisher>' not specified\n/);
  });
});
