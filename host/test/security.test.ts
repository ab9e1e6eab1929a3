import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

import {
  HOST_VERSION,
  REVOCATION_REASON,
  SECURITY_CASES,
  YANK_REASON,
  createFixtures,
  createSuiteKeys,
  validPackage,
  type CaseContext,
  type SuiteKey,
} from "../../test/security/cases.ts";
import { api, install, publish, uniqueTenant } from "./helpers/api.ts";

/** Everything a rejected package must leave as it was. */
interface Snapshot {
  plugins: unknown;
  installations: unknown;
  keys: unknown;
  objects: string[];
}

const canaryTenant = uniqueTenant("sec-canary");
let context: CaseContext;
let baseline: Snapshot;

async function listObjects(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  // R2 lists at most 1,000 keys a page; 20 pages is far beyond what this file stores.
  for (let page = 0; page < 20; page += 1) {
    const listing = await env.PACKAGES.list(cursor === undefined ? {} : { cursor });
    keys.push(...listing.objects.map((object) => object.key));
    if (!listing.truncated) break;
    cursor = listing.cursor;
  }
  return keys.sort();
}

async function snapshot(): Promise<Snapshot> {
  return {
    plugins: (await api("GET", "/v1/plugins")).body,
    installations: (await api("GET", `/v1/tenants/${canaryTenant}/installations`)).body,
    keys: (await api("GET", "/v1/trust/keys")).body,
    objects: await listObjects(),
  };
}

async function trustKey(key: SuiteKey): Promise<void> {
  const response = await api("POST", "/v1/trust/keys", key.trusted);
  if (response.status !== 201) throw new Error(`adding key ${key.trusted.kid} failed with ${response.status}: ${JSON.stringify(response.body)}`);
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  const keys = await createSuiteKeys(now);
  context = { keys, fixtures: await createFixtures(keys), now };

  for (const key of [keys.main, keys.es256, keys.retired, keys.revoked, keys.notYetValid, keys.ended, keys.otherPublisher]) await trustKey(key);
  expect((await api("POST", `/v1/trust/keys/${keys.retired.trusted.kid}/retire`)).status).toBe(200);
  expect((await api("POST", `/v1/trust/keys/${keys.revoked.trusted.kid}/revoke`, { reason: REVOCATION_REASON })).status).toBe(200);

  await publish(context.fixtures.canary);
  await install(canaryTenant, { name: "sec-canary" });
  await publish(context.fixtures.yanked);
  expect((await api("POST", "/v1/plugins/sec-yanked/1.0.0/yank", { reason: YANK_REASON })).status).toBe(200);

  baseline = await snapshot();
});

describe("security suite", () => {
  it("has at least 40 cases with unique names", () => {
    const names = new Set(SECURITY_CASES.map((entry) => entry.name));

    expect(SECURITY_CASES.length).toBeGreaterThanOrEqual(40);
    expect(names.size).toBe(SECURITY_CASES.length);
  });

  it("runs against this host's version", async () => {
    const health = await api("GET", "/v1/health");

    expect(health.body.version).toBe(HOST_VERSION);
  });

  it.each(SECURITY_CASES.map((entry) => [entry.name, entry] as const))("rejects %s", async (_name, entry) => {
    const body = await entry.build(context);

    const response = await api("POST", "/v1/plugins", "raw" in body ? body.raw : body.json);

    expect(response.body?.error?.code).toBe(entry.code);
    expect(response.status).toBe(entry.status);
    expect(typeof response.body.error.message).toBe("string");
    if (entry.path !== undefined) expect(response.body.error.path).toBe(entry.path);
    expect(await snapshot()).toEqual(baseline);
  });
});

describe("suite controls", () => {
  it.each([
    ["Ed25519", "sec-control-ed25519", () => context.keys.main],
    ["ES256", "sec-control-es256", () => context.keys.es256],
  ] as const)("accepts a valid %s package", async (_alg, name, key) => {
    const response = await api("POST", "/v1/plugins", await validPackage(context, name, {}, key().signing));

    expect(response.status).toBe(201);
    expect(response.body.published).toMatchObject({ name, version: "1.0.0", created: true });
  });

  it("keeps the canary installation running", async () => {
    const response = await api("GET", `/v1/tenants/${canaryTenant}/installations/sec-canary`);

    expect(response.status).toBe(200);
    expect(response.body.installation.state).toBe("enabled");
    expect(response.body.installation.lastError).toBeNull();
  });
});
