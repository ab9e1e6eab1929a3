import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import type { TrustedKey } from "@berth/plugin-sdk/package";
import type { RegistryObject } from "../src/framework/index.ts";
import { makeKey, type SuiteKey } from "../../test/security/cases.ts";
import { api, makePackage, mintToken, pluginSource } from "./helpers/api.ts";

const SOURCE = pluginSource({ Hooks: "async tag(draft) { return draft; }" });

/** Returns a registry instance of its own, so seeding tests never touch the host's catalogue. */
function separateRegistry(): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName(`seed-test-${crypto.randomUUID()}`));
}

// The stub's types turn the JWK's open index signature into never, so results are typed here.
async function storedKeys(registry: DurableObjectStub<RegistryObject>, seed: SuiteKey["trusted"][]): Promise<TrustedKey[]> {
  return (await registry.trustedKeys(seed as TrustedKey[])) as TrustedKey[];
}

async function addKey(key: SuiteKey["trusted"] | Record<string, unknown>) {
  return api("POST", "/v1/trust/keys", key);
}

describe("GET /v1/trust/keys", () => {
  it("lists the configured keys as active", async () => {
    const response = await api("GET", "/v1/trust/keys");
    const byKid = new Map(response.body.keys.map((key: { kid: string }) => [key.kid, key]));

    expect(response.status).toBe(200);
    expect(byKid.get("berth-dev-2026")).toMatchObject({ publisher: "berth-dev", alg: "Ed25519", status: "active", source: "config" });
    expect(byKid.get("berth-test-1")).toMatchObject({ publisher: "berth-test", status: "active", source: "config" });
  });

  it("is refused to publishers and tenant admins", async () => {
    const publisher = await api("GET", "/v1/trust/keys", undefined, { token: await mintToken({ role: "publisher" }) });
    const admin = await api("GET", "/v1/trust/keys", undefined, { token: await mintToken({ role: "tenant-admin", tenant: "acme" }) });

    expect(publisher.status).toBe(403);
    expect(publisher.body.error.code).toBe("ERR_AUTH_FORBIDDEN");
    expect(admin.status).toBe(403);
  });
});

describe("POST /v1/trust/keys", () => {
  it("adds a key that publishes at once", async () => {
    const key = await makeKey("store-acme-1", "ES256", "store-acme");

    const added = await addKey(key.trusted);
    const published = await api("POST", "/v1/plugins", await makePackage({ name: "store-acme-plugin", source: SOURCE, publisher: "store-acme", key: key.signing }));

    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ created: true, key: { kid: "store-acme-1", publisher: "store-acme", alg: "ES256", status: "active", source: "api" } });
    expect(published.status).toBe(201);
  });

  it("changes nothing when the same key is added again", async () => {
    const key = await makeKey("store-again-1", "Ed25519", "store-again");
    await addKey(key.trusted);

    const again = await addKey(key.trusted);

    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
  });

  it("rejects a key ID that names another key", async () => {
    const first = await makeKey("store-clash-1", "Ed25519", "store-clash");
    const second = await makeKey("store-clash-1", "Ed25519", "store-clash");
    await addKey(first.trusted);

    const response = await addKey(second.trusted);

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_CONFLICT");
    expect(response.body.error.path).toBe("body.kid");
  });

  it("rejects one key for two publishers", async () => {
    const key = await makeKey("store-owner-1", "Ed25519", "store-owner");
    await addKey(key.trusted);

    const response = await addKey({ ...key.trusted, kid: "store-thief-1", publisher: "store-thief" });

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_CONFLICT");
    expect(response.body.error.message).toContain("store-owner-1");
  });

  it("rejects a private key", async () => {
    const key = await makeKey("store-private-1", "Ed25519", "store-private");

    const response = await addKey({ ...key.trusted, jwk: key.signing.jwk });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_REQUEST_INVALID");
    expect(response.body.error.path).toBe("body.jwk");
  });

  it("rejects a key whose alg does not fit its JWK", async () => {
    const key = await makeKey("store-alg-1", "Ed25519", "store-alg");

    const response = await addKey({ ...key.trusted, alg: "ES256" });

    expect(response.status).toBe(400);
    expect(response.body.error.path).toBe("body.jwk");
  });

  it("rejects an algorithm outside the allowlist", async () => {
    const key = await makeKey("store-rs-1", "Ed25519", "store-rs");

    const response = await addKey({ ...key.trusted, alg: "RS256" });

    expect(response.status).toBe(400);
    expect(response.body.error.path).toBe("body.alg");
  });

  it("rejects a revocation in an add request", async () => {
    const key = await makeKey("store-revoked-1", "Ed25519", "store-revoked");

    const response = await addKey({ ...key.trusted, revokedAt: 1 });

    expect(response.status).toBe(400);
    expect(response.body.error.path).toBe("body.revokedAt");
  });

  it("rejects notAfter before notBefore", async () => {
    const key = await makeKey("store-window-1", "Ed25519", "store-window");

    const response = await addKey({ ...key.trusted, notBefore: 2_000_000_000, notAfter: 1_000_000_000 });

    expect(response.status).toBe(400);
    expect(response.body.error.path).toBe("body.notAfter");
  });
});

describe("key state routes", () => {
  it.each(["retire", "revoke"])("return 404 to %s of an unknown key", async (action) => {
    const response = await api("POST", `/v1/trust/keys/no-such-key/${action}`, action === "revoke" ? { reason: "test" } : undefined);

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_NOT_FOUND");
  });

  it("requires a reason to revoke", async () => {
    const key = await makeKey("store-reason-1", "Ed25519", "store-reason");
    await addKey(key.trusted);

    const missing = await api("POST", "/v1/trust/keys/store-reason-1/revoke", {});
    const blank = await api("POST", "/v1/trust/keys/store-reason-1/revoke", { reason: "   " });

    expect(missing.status).toBe(400);
    expect(missing.body.error.path).toBe("body.reason");
    expect(blank.status).toBe(400);
    expect(blank.body.error.path).toBe("body.reason");
  });

  it("keeps the first reason when a key is revoked twice", async () => {
    const key = await makeKey("store-twice-1", "Ed25519", "store-twice");
    await addKey(key.trusted);

    const first = await api("POST", "/v1/trust/keys/store-twice-1/revoke", { reason: "leaked in a build log" });
    const second = await api("POST", "/v1/trust/keys/store-twice-1/revoke", { reason: "another reason" });

    expect(first.body.key).toMatchObject({ status: "revoked", revokedReason: "leaked in a build log" });
    expect(second.status).toBe(200);
    expect(second.body.key.revokedReason).toBe("leaked in a build log");
    expect(second.body.key.revokedAt).toBe(first.body.key.revokedAt);
  });

  it("retires a key and sets its notAfter", async () => {
    const key = await makeKey("store-retire-1", "Ed25519", "store-retire");
    await addKey(key.trusted);

    const response = await api("POST", "/v1/trust/keys/store-retire-1/retire", { notAfter: 4_000_000_000 });

    expect(response.status).toBe(200);
    expect(response.body.key).toMatchObject({ status: "retired", notAfter: 4_000_000_000 });
    expect(typeof response.body.key.retiredAt).toBe("number");
  });

  it("retires a key with an empty body", async () => {
    const key = await makeKey("store-empty-1", "Ed25519", "store-empty");
    await addKey(key.trusted);

    // A body of "" arrives as an empty stream with content-length 0, as `curl -X POST` sends it.
    const response = await api("POST", "/v1/trust/keys/store-empty-1/retire", "");

    expect(response.status).toBe(200);
    expect(response.body.key.status).toBe("retired");
  });

  it("leaves a revoked key revoked when it is retired", async () => {
    const key = await makeKey("store-late-1", "Ed25519", "store-late");
    await addKey(key.trusted);
    await api("POST", "/v1/trust/keys/store-late-1/revoke", { reason: "compromised" });

    const response = await api("POST", "/v1/trust/keys/store-late-1/retire");

    expect(response.status).toBe(200);
    expect(response.body.key.status).toBe("revoked");
  });
});

describe("GET /v1/trust/publishers", () => {
  it("groups keys by publisher", async () => {
    const one = await makeKey("store-pub-1", "Ed25519", "store-pub");
    const two = await makeKey("store-pub-2", "ES256", "store-pub");
    await addKey(one.trusted);
    await addKey(two.trusted);
    await api("POST", "/v1/trust/keys/store-pub-1/retire");

    const response = await api("GET", "/v1/trust/publishers");
    const publisher = response.body.publishers.find((entry: { name: string }) => entry.name === "store-pub");

    expect(response.status).toBe(200);
    expect(publisher.keys).toEqual([
      { kid: "store-pub-1", status: "retired" },
      { kid: "store-pub-2", status: "active" },
    ]);
  });
});

describe("seeding from configuration", () => {
  it("stores configured keys once", async () => {
    const registry = separateRegistry();
    const key = await makeKey("seed-once-1", "Ed25519", "seed-once");
    const seed = [key.trusted];

    const first = await storedKeys(registry, seed);
    const second = await storedKeys(registry, seed);

    expect(first.map((entry) => entry.kid)).toEqual(["seed-once-1"]);
    expect(second).toEqual(first);
  });

  it("keeps a revoked configured key revoked", async () => {
    const registry = separateRegistry();
    const key = await makeKey("seed-revoked-1", "Ed25519", "seed-revoked");
    const added = await makeKey("seed-revoked-2", "Ed25519", "seed-revoked");
    await storedKeys(registry, [key.trusted]);
    await registry.revokeKey([key.trusted as TrustedKey], "seed-revoked-1", "compromised");

    // A changed configuration seeds again; the stored revocation must survive it.
    const keys = await storedKeys(registry, [key.trusted, added.trusted]);
    const byKid = new Map(keys.map((entry) => [entry.kid, entry]));

    expect(byKid.get("seed-revoked-1")?.revokedReason).toBe("compromised");
    expect(byKid.get("seed-revoked-2")?.revokedAt).toBeUndefined();
  });

  it("skips a configured key that clashes with a stored one", async () => {
    const registry = separateRegistry();
    const stored = await makeKey("seed-clash-1", "Ed25519", "seed-clash");
    const impostor = await makeKey("seed-clash-1", "Ed25519", "seed-impostor");
    await storedKeys(registry, [stored.trusted]);

    const keys = await storedKeys(registry, [impostor.trusted]);

    expect(keys).toHaveLength(1);
    expect(keys[0]?.publisher).toBe("seed-clash");
    expect(keys[0]?.jwk).toEqual(stored.trusted.jwk);
  });
});
