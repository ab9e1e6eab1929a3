/**
 * `berth resign` as a process: a package signed again keeps its manifest and
 * modules and gets a new expiry or key, and `berth verify` accepts it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildCli, makeTempDir, runBerth, type RunResult } from "../../plugin-sdk/test/helpers/cli.ts";
import { HOST_VERSION, PUBLISHER, baseManifest, makeKey, moduleSource, signedPackage, type SuiteKey } from "./cases.ts";

const DAY = 86_400;

let temp: { dir: string; remove: () => Promise<void> };
let main: SuiteKey;
let second: SuiteKey;
let stranger: SuiteKey;

/** Writes a private key file as berth keygen does. */
async function writeKey(file: string, key: SuiteKey): Promise<void> {
  await writeFile(join(temp.dir, file), JSON.stringify({ ...key.signing, publisher: key.trusted.publisher }));
}

/** Writes a package of `name` signed with the main key, expiring in a day. */
async function writePackage(file: string, name: string): Promise<{ manifest: string; modules: Record<string, string> }> {
  const source = moduleSource(name);
  const pkg = await signedPackage(await baseManifest(name, source), main.signing, { "index.js": source }, { now: Math.floor(Date.now() / 1000) - 60, expiresInSeconds: DAY });
  await writeFile(join(temp.dir, file), JSON.stringify(pkg));
  return pkg;
}

async function readPackage(file: string): Promise<{ manifest: string; modules: Record<string, string> }> {
  return JSON.parse(await readFile(join(temp.dir, file), "utf8"));
}

function berth(...args: string[]): Promise<RunResult> {
  return runBerth(args, { cwd: temp.dir });
}

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-resign");
  main = await makeKey("resign-main", "Ed25519", PUBLISHER);
  second = await makeKey("resign-second", "ES256", PUBLISHER);
  stranger = await makeKey("resign-stranger", "Ed25519", "someone-else");
  await writeKey("main.private.json", main);
  await writeKey("second.private.json", second);
  await writeKey("stranger.private.json", stranger);
  await writeFile(join(temp.dir, "trust.json"), JSON.stringify([main.trusted, second.trusted]));
}, 120_000);

afterAll(async () => {
  await temp?.remove();
});

describe("berth resign", () => {
  it("sets a new expiry and keeps the manifest and modules", async () => {
    const before = await writePackage("expiry.berth.json", "resign-expiry");

    const result = await berth("resign", "expiry.berth.json", "--key", "main.private.json", "--expires-in-days", "30");
    const after = await readPackage("expiry.berth.json");
    const oldClaims = decodeJwt(before.manifest);
    const newClaims = decodeJwt(after.manifest);

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^re-signed resign-expiry@1\.0\.0 with key resign-main \(publisher sec-test\)\n/);
    expect(result.stdout).toContain("(unchanged)");
    expect(newClaims.manifest).toEqual(oldClaims.manifest);
    expect(after.modules).toEqual(before.modules);
    expect(newClaims.exp).toBeGreaterThanOrEqual((newClaims.iat ?? 0) + 30 * DAY);
    expect(newClaims.iat).toBeGreaterThan(oldClaims.iat ?? 0);
  });

  it("reports an --out folder that does not exist", async () => {
    await writePackage("missing-out.berth.json", "resign-missing-out");

    const result = await berth("resign", "missing-out.berth.json", "--key", "main.private.json", "--out", "missing/x.berth.json");

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("error ERR_CLI_USAGE: cannot write missing/x.berth.json: the folder missing does not exist; create it or pass another --out file\n");
  });

  it("prints the same content digest for every signature", async () => {
    await writePackage("digest.berth.json", "resign-digest");

    const first = await berth("resign", "digest.berth.json", "--key", "main.private.json", "--out", "digest-a.berth.json");
    const again = await berth("resign", "digest.berth.json", "--key", "second.private.json", "--expires-in-days", "7", "--out", "digest-b.berth.json");
    const contentOf = (result: RunResult) => /content sha256 ([0-9a-f]{64})/.exec(result.stdout)?.[1];

    expect(contentOf(first)).toMatch(/^[0-9a-f]{64}$/);
    expect(contentOf(again)).toBe(contentOf(first));
  });

  it("signs with another key of the same publisher", async () => {
    await writePackage("rotate.berth.json", "resign-rotate");

    const result = await berth("resign", "rotate.berth.json", "--key", "second.private.json", "--out", "rotated.berth.json");
    const rotated = await readPackage("rotated.berth.json");
    const original = await readPackage("rotate.berth.json");
    const verified = await berth("verify", "rotated.berth.json", "--trust", "trust.json", "--host-version", HOST_VERSION);

    expect(result.code).toBe(0);
    expect(decodeProtectedHeader(rotated.manifest)).toMatchObject({ alg: "ES256", kid: "resign-second" });
    expect(decodeProtectedHeader(original.manifest).kid).toBe("resign-main");
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain("key      resign-second");
  });

  it("rejects a key of another publisher", async () => {
    await writePackage("stranger.berth.json", "resign-stranger");

    const result = await berth("resign", "stranger.berth.json", "--key", "stranger.private.json");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_PUBLISHER_MISMATCH: /);
  });

  it("rejects a module changed after signing", async () => {
    const pkg = await writePackage("tampered.berth.json", "resign-tampered");
    await writeFile(join(temp.dir, "tampered.berth.json"), JSON.stringify({ ...pkg, modules: { "index.js": `${pkg.modules["index.js"]}\nglobalThis.evil = 1;\n` } }));

    const result = await berth("resign", "tampered.berth.json", "--key", "main.private.json");
    const unchanged = await readPackage("tampered.berth.json");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_MODULE_DIGEST_MISMATCH: /);
    expect(unchanged.manifest).toBe(pkg.manifest);
  });

  it("rejects a package whose manifest is not a JWS", async () => {
    await writeFile(join(temp.dir, "plain.berth.json"), JSON.stringify({ manifest: "not-a-jws", modules: { "index.js": "export {};" } }));

    const result = await berth("resign", "plain.berth.json", "--key", "main.private.json");

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_JWS_MALFORMED: /);
  });

  it.each(["0", "1.5", "3651"])("rejects --expires-in-days %s", async (days) => {
    await writePackage(`days-${days}.berth.json`, "resign-days");

    const result = await berth("resign", `days-${days}.berth.json`, "--key", "main.private.json", "--expires-in-days", days);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_USAGE: .*--expires-in-days/);
  });
});
