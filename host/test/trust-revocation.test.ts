import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import type { SigningKey } from "@berth/plugin-sdk/package";
import type { RegistryObject } from "../src/framework/index.ts";
import { makeKey, signedPackage, type SuiteKey } from "../../test/security/cases.ts";
import { api, createTicket, getInstallation, hook, install, logMessages, makePackage, patchInstallation, pluginSource, publish, uniqueTenant } from "./helpers/api.ts";
import { sha256Hex } from "@berth/plugin-sdk/package";

const HOOKS = { "ticket.beforeCreate": hook("tag") };

function taggerSource(tag: string): string {
  return pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "${tag}"] }; }` });
}

/** Publishes a tagger that adds `tag`, signed with `key` of `publisher`. */
async function publishTagger(name: string, version: string, tag: string, publisher: string, key: SigningKey): Promise<void> {
  await publish(await makePackage({ name, version, source: taggerSource(tag), publisher, key, hooks: HOOKS }));
}

/** Adds a fresh key of `publisher` to the trust store; `window` is in seconds since the epoch. */
async function trustedKey(kid: string, publisher: string, window: { notBefore?: number } = {}): Promise<SuiteKey> {
  const key = await makeKey(kid, "Ed25519", publisher, window);
  const response = await api("POST", "/v1/trust/keys", key.trusted);
  if (response.status !== 201) throw new Error(`adding ${kid} failed with ${response.status}: ${JSON.stringify(response.body)}`);
  return key;
}

function catalogue(): DurableObjectStub<RegistryObject> {
  const namespace = env.REGISTRY as unknown as DurableObjectNamespace<RegistryObject>;
  return namespace.get(namespace.idFromName("catalogue"));
}

async function tagsOf(tenant: string): Promise<string[]> {
  const created = await createTicket(tenant, { title: "Which plugins ran?" });
  return created.body.ticket.tags;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe("key rotation", () => {
  it("rejects new publishes signed with a retired key", async () => {
    const key = await trustedKey("rot-retired-1", "rot-retired");
    await publishTagger("rot-retired-plugin", "1.0.0", "v1", "rot-retired", key.signing);
    await api("POST", "/v1/trust/keys/rot-retired-1/retire");

    const response = await api("POST", "/v1/plugins", await makePackage({ name: "rot-retired-plugin", version: "2.0.0", source: taggerSource("v2"), publisher: "rot-retired", key: key.signing, hooks: HOOKS }));
    const listed = await api("GET", "/v1/plugins");

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_RETIRED");
    expect(listed.body.plugins.find((plugin: { name: string }) => plugin.name === "rot-retired-plugin").versions).toEqual(["1.0.0"]);
  });

  it("keeps a retired key's packages installable until notAfter", async () => {
    const key = await trustedKey("rot-grace-1", "rot-grace");
    await publishTagger("rot-grace-plugin", "1.0.0", "grace", "rot-grace", key.signing);
    const before = uniqueTenant("rot-grace");
    await install(before, { name: "rot-grace-plugin" });

    await api("POST", "/v1/trust/keys/rot-grace-1/retire", { notAfter: nowSeconds() + 86_400 });
    const after = uniqueTenant("rot-grace");
    const installed = await api("POST", `/v1/tenants/${after}/installations`, { name: "rot-grace-plugin" });

    expect(installed.status).toBe(201);
    expect(await tagsOf(before)).toEqual(["grace"]);
    expect(await tagsOf(after)).toEqual(["grace"]);
  });

  it("stops installs of a retired key's packages after notAfter", async () => {
    const now = nowSeconds();
    const key = await trustedKey("rot-ended-1", "rot-ended", { notBefore: now - 7200 });
    const source = taggerSource("ended");
    const manifest = {
      name: "rot-ended-plugin",
      version: "1.0.0",
      publisher: "rot-ended",
      hostRange: "^0.1.0",
      compatibilityDate: "2026-11-01",
      main: "index.js",
      modules: { "index.js": { sha256: await sha256Hex(source), size: new TextEncoder().encode(source).byteLength } },
      hooks: HOOKS,
    };
    // Signed an hour ago, so the key's notAfter can lie between the signature and now.
    await publish(await signedPackage(manifest, key.signing, { "index.js": source }, { now: now - 3600 }));
    const running = uniqueTenant("rot-ended");
    await install(running, { name: "rot-ended-plugin" });

    await api("POST", "/v1/trust/keys/rot-ended-1/retire", { notAfter: now - 600 });
    const response = await api("POST", `/v1/tenants/${uniqueTenant("rot-ended")}/installations`, { name: "rot-ended-plugin" });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_TRUST_KEY_EXPIRED");
    expect(await tagsOf(running)).toEqual(["ended"]);
  });

  it("publishes the next version with the new key", async () => {
    const old = await trustedKey("rot-next-1", "rot-next");
    await publishTagger("rot-next-plugin", "1.0.0", "old-key", "rot-next", old.signing);
    const tenant = uniqueTenant("rot-next");
    await install(tenant, { name: "rot-next-plugin" });

    const current = await trustedKey("rot-next-2", "rot-next");
    await api("POST", "/v1/trust/keys/rot-next-1/retire");
    await publishTagger("rot-next-plugin", "2.0.0", "new-key", "rot-next", current.signing);
    const upgraded = await patchInstallation(tenant, "rot-next-plugin", { version: "2.0.0" });

    expect(upgraded.status).toBe(200);
    expect(await tagsOf(tenant)).toEqual(["new-key"]);
  });

  it("rejects a new key's signature for another publisher's manifest", async () => {
    const key = await trustedKey("rot-other-1", "rot-other");

    const response = await api("POST", "/v1/plugins", await makePackage({ name: "rot-other-plugin", source: taggerSource("x"), publisher: "berth-test", key: key.signing }));

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_PUBLISHER_MISMATCH");
  });
});

describe("key revocation", () => {
  it("disables the installations it signed in every tenant", async () => {
    const key = await trustedKey("rev-all-1", "rev-all");
    await publishTagger("rev-all-plugin", "1.0.0", "revoked", "rev-all", key.signing);
    await publish(await makePackage({ name: "rev-all-bystander", source: taggerSource("bystander"), hooks: HOOKS }));
    const tenantA = uniqueTenant("rev-all-a");
    const tenantB = uniqueTenant("rev-all-b");
    await install(tenantA, { name: "rev-all-plugin" });
    await install(tenantA, { name: "rev-all-bystander" });
    await install(tenantB, { name: "rev-all-plugin" });

    const revoked = await api("POST", "/v1/trust/keys/rev-all-1/revoke", { reason: "private key found in a public repository" });
    const installationA = await getInstallation(tenantA, "rev-all-plugin");
    const installationB = await getInstallation(tenantB, "rev-all-plugin");

    expect(revoked.status).toBe(200);
    expect(revoked.body.key).toMatchObject({ kid: "rev-all-1", status: "revoked", revokedReason: "private key found in a public repository" });
    expect(revoked.body.installations).toHaveLength(2);
    expect(revoked.body.installations).toEqual(
      expect.arrayContaining([
        { tenant: tenantA, name: "rev-all-plugin", version: "1.0.0", outcome: "disabled" },
        { tenant: tenantB, name: "rev-all-plugin", version: "1.0.0", outcome: "disabled" },
      ]),
    );
    for (const installation of [installationA.body.installation, installationB.body.installation]) {
      expect(installation.state).toBe("disabled");
      expect(installation.lastError).toMatchObject({ code: "ERR_TRUST_KEY_REVOKED", during: "key revocation" });
      expect(installation.lastError.message).toContain("private key found in a public repository");
    }
    expect((await logMessages(tenantA, "rev-all-plugin")).at(-1)).toContain("private key found in a public repository");
  });

  it("stops dispatch to the revoked plugin only", async () => {
    const key = await trustedKey("rev-stop-1", "rev-stop");
    await publishTagger("rev-stop-plugin", "1.0.0", "revoked", "rev-stop", key.signing);
    await publish(await makePackage({ name: "rev-stop-bystander", source: taggerSource("bystander"), hooks: HOOKS }));
    const tenant = uniqueTenant("rev-stop");
    await install(tenant, { name: "rev-stop-plugin" });
    await install(tenant, { name: "rev-stop-bystander" });
    const before = await tagsOf(tenant);

    await api("POST", "/v1/trust/keys/rev-stop-1/revoke", { reason: "compromised" });
    const after = await createTicket(tenant, { title: "After revocation" });

    expect(before.sort()).toEqual(["bystander", "revoked"]);
    expect(after.body.ticket.tags).toEqual(["bystander"]);
    expect(after.body.hooks.beforeCreate.map((call: { plugin: string }) => call.plugin)).toEqual(["rev-stop-bystander"]);
  });

  it("rejects installs, enables and publishes signed with the key", async () => {
    const key = await trustedKey("rev-deny-1", "rev-deny");
    await publishTagger("rev-deny-plugin", "1.0.0", "revoked", "rev-deny", key.signing);
    const tenant = uniqueTenant("rev-deny");
    await install(tenant, { name: "rev-deny-plugin" });
    await api("POST", "/v1/trust/keys/rev-deny-1/revoke", { reason: "compromised" });

    const installed = await api("POST", `/v1/tenants/${uniqueTenant("rev-deny")}/installations`, { name: "rev-deny-plugin", version: "1.0.0" });
    const ranged = await api("POST", `/v1/tenants/${uniqueTenant("rev-deny")}/installations`, { name: "rev-deny-plugin", version: "*" });
    const enabled = await patchInstallation(tenant, "rev-deny-plugin", { state: "enabled" });
    const published = await api("POST", "/v1/plugins", await makePackage({ name: "rev-deny-plugin", version: "1.0.1", source: taggerSource("again"), publisher: "rev-deny", key: key.signing, hooks: HOOKS }));
    const current = await getInstallation(tenant, "rev-deny-plugin");

    expect(installed.status).toBe(422);
    expect(installed.body.error.code).toBe("ERR_TRUST_KEY_REVOKED");
    expect(ranged.status).toBe(404);
    expect(ranged.body.error.code).toBe("ERR_PLUGIN_NOT_FOUND");
    expect(ranged.body.error.message).toContain("not installable (yanked or signed by a revoked key): 1.0.0");
    expect(enabled.status).toBe(422);
    expect(enabled.body.error.code).toBe("ERR_TRUST_KEY_REVOKED");
    expect(published.status).toBe(422);
    expect(published.body.error.code).toBe("ERR_TRUST_KEY_REVOKED");
    expect(current.body.installation.state).toBe("disabled");
  });

  it("skips revoked versions in ranges and latest", async () => {
    const active = await trustedKey("rev-skip-1", "rev-skip");
    const compromised = await trustedKey("rev-skip-2", "rev-skip");
    await publishTagger("rev-skip-plugin", "1.0.0", "active", "rev-skip", active.signing);
    await publishTagger("rev-skip-plugin", "1.1.0", "revoked", "rev-skip", compromised.signing);
    await api("POST", "/v1/trust/keys/rev-skip-2/revoke", { reason: "compromised" });

    const ranged = await api("POST", `/v1/tenants/${uniqueTenant("rev-skip")}/installations`, { name: "rev-skip-plugin", version: "*" });
    const exact = await api("POST", `/v1/tenants/${uniqueTenant("rev-skip")}/installations`, { name: "rev-skip-plugin", version: "1.1.0" });
    const listed = await api("GET", "/v1/plugins");
    const plugin = listed.body.plugins.find((entry: { name: string }) => entry.name === "rev-skip-plugin");

    expect(ranged.status).toBe(201);
    expect(ranged.body.installation.version).toBe("1.0.0");
    expect(exact.status).toBe(422);
    expect(exact.body.error.code).toBe("ERR_TRUST_KEY_REVOKED");
    expect(plugin.latest).toBe("1.0.0");
    expect(plugin.versions).toEqual(["1.1.0", "1.0.0"]);
  });

  it("refuses to load a revoked version in a tenant the index missed", async () => {
    const key = await trustedKey("rev-load-1", "rev-load");
    await publishTagger("rev-load-plugin", "1.0.0", "revoked", "rev-load", key.signing);
    const tenant = uniqueTenant("rev-load");
    await install(tenant, { name: "rev-load-plugin" });
    await catalogue().untrack({ tenant, name: "rev-load-plugin", version: "1.0.0" });

    const revoked = await api("POST", "/v1/trust/keys/rev-load-1/revoke", { reason: "compromised" });
    const missed = await getInstallation(tenant, "rev-load-plugin");
    const ticket = await createTicket(tenant, { title: "Load after revocation" });
    const after = await getInstallation(tenant, "rev-load-plugin");

    expect(revoked.body.installations).toEqual([]);
    expect(missed.body.installation.state).toBe("enabled");
    expect(ticket.body.ticket.tags).toEqual([]);
    expect(ticket.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "rev-load-plugin", status: "failed", error: { code: "ERR_TRUST_KEY_REVOKED" } });
    expect(after.body.installation.state).toBe("disabled");
    expect(after.body.installation.lastError.code).toBe("ERR_TRUST_KEY_REVOKED");
  });

  it("lets a tenant upgrade away to a version signed by a current key", async () => {
    const old = await trustedKey("rev-away-1", "rev-away");
    const current = await trustedKey("rev-away-2", "rev-away");
    await publishTagger("rev-away-plugin", "1.0.0", "v1", "rev-away", old.signing);
    await publishTagger("rev-away-plugin", "2.0.0", "v2", "rev-away", current.signing);
    const tenant = uniqueTenant("rev-away");
    await install(tenant, { name: "rev-away-plugin", version: "1.0.0" });
    await api("POST", "/v1/trust/keys/rev-away-1/revoke", { reason: "compromised" });

    const upgraded = await patchInstallation(tenant, "rev-away-plugin", { version: "2.0.0", state: "enabled" });

    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation).toMatchObject({ version: "2.0.0", state: "enabled" });
    expect(await tagsOf(tenant)).toEqual(["v2"]);
  });
});
