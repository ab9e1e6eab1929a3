/**
 * Runs the security suite against `berth verify` as a process: every case the
 * host runs, except the host-only ones, must fail with the same code the host
 * returns (see `host/test/security.test.ts`).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildCli, makeTempDir, runBerth, type RunResult } from "../../plugin-sdk/test/helpers/cli.ts";
import {
  HOST_VERSION,
  SECURITY_CASES,
  createFixtures,
  createSuiteKeys,
  trustFileEntries,
  validPackage,
  type CaseContext,
  type SecurityCase,
} from "./cases.ts";

/** The demo host's profile, so the host's manifest checks run offline too. */
const PROFILE = join(import.meta.dirname, "../../manifests/help-desk.host-profile.json");

/** CLI processes run at once. */
const CONCURRENCY = 6;

const offlineCases = SECURITY_CASES.filter((entry) => entry.hostOnly === undefined);
const results = new Map<string, RunResult>();
let temp: { dir: string; remove: () => Promise<void> };
let context: CaseContext;

function verify(file: string): Promise<RunResult> {
  return runBerth(["verify", file, "--trust", "trust.json", "--host-version", HOST_VERSION, "--profile", PROFILE], { cwd: temp.dir });
}

async function runCase(entry: SecurityCase, index: number): Promise<void> {
  const body = await entry.build(context);
  if (!("json" in body)) throw new Error(`case "${entry.name}" sends a raw body but is not host-only`);
  const file = `case-${index}.berth.json`;
  await writeFile(join(temp.dir, file), JSON.stringify(body.json));
  results.set(entry.name, await verify(file));
}

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-security");
  const now = Math.floor(Date.now() / 1000);
  const keys = await createSuiteKeys(now);
  context = { keys, fixtures: await createFixtures(keys), now };
  await writeFile(join(temp.dir, "trust.json"), JSON.stringify(trustFileEntries(keys, now)));

  // A fixed pool of workers, each taking the next case until none is left.
  let next = 0;
  const worker = async () => {
    while (next < offlineCases.length) {
      const index = next;
      next += 1;
      await runCase(offlineCases[index] as SecurityCase, index);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}, 180_000);

afterAll(async () => {
  await temp?.remove();
});

describe("berth verify on the security suite", () => {
  it("covers at least 40 cases offline", () => {
    expect(offlineCases.length).toBeGreaterThanOrEqual(40);
  });

  it("says why each host-only case is host-only", () => {
    for (const entry of SECURITY_CASES.filter((candidate) => candidate.hostOnly !== undefined)) {
      expect(entry.hostOnly, entry.name).toMatch(/\S/);
    }
  });

  it.each(offlineCases.map((entry) => [entry.name, entry] as const))("rejects %s with the host's code", (name, entry) => {
    const result = results.get(name);

    expect(result?.code).toBe(1);
    expect(result?.stdout).toBe("");
    expect(result?.stderr).toMatch(new RegExp(`^error ${entry.code}: `));
    if (entry.path !== undefined) expect(result?.stderr).toContain(entry.path);
  });

  it.each([
    ["Ed25519", "sec-control-ed25519", () => context.keys.main],
    ["ES256", "sec-control-es256", () => context.keys.es256],
  ] as const)("accepts a valid %s package", async (_alg, name, key) => {
    await writeFile(join(temp.dir, `${name}.berth.json`), JSON.stringify(await validPackage(context, name, {}, key().signing)));

    const result = await verify(`${name}.berth.json`);

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^verified ${name}@1\\.0\\.0 from publisher sec-test\\n`));
  });
});
