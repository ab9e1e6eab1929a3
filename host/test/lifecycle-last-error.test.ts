/**
 * `lastError` records a failed configure, upgrade or enable hook while the
 * installation stays as it was, and enabling the installation again clears it.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { makeKey } from "../../test/security/cases.ts";
import { api, getInstallation, install, makePackage, patchInstallation, pluginSource, publish, publishPlugin, uniqueTenant } from "./helpers/api.ts";

const PLUGIN = "last-error";

// Configure and enable hooks fail while the config's label is "fail", and the upgrade hook fails when `failUpgrade` is set.
function source(failUpgrade: boolean): string {
  return pluginSource({
    Lifecycle: `
      async configure(context) {
        if (this.env.CONFIG.label === "fail") throw new Error("configure refused by config");
      }
      async enable(context) {
        if (this.env.CONFIG.label === "fail") throw new Error("enable refused by config");
      }
      async disable(context) {}
      async upgrade(context) {
        if (${failUpgrade}) throw new Error("upgrade refused");
      }`,
  });
}

const LIFECYCLE = { entrypoint: "Lifecycle", events: ["configure" as const, "enable" as const, "disable" as const, "upgrade" as const] };
const CONFIG = { label: { type: "string" as const } };

beforeAll(async () => {
  await publishPlugin({ name: PLUGIN, version: "1.0.0", source: source(false), lifecycle: LIFECYCLE, config: CONFIG });
  await publishPlugin({ name: PLUGIN, version: "2.0.0", source: source(true), lifecycle: LIFECYCLE, config: CONFIG });
  await publishPlugin({ name: PLUGIN, version: "3.0.0", source: source(false), lifecycle: LIFECYCLE, config: CONFIG });
});

describe("lastError", () => {
  it("records a failed configure hook", async () => {
    const tenant = uniqueTenant("last-configure");
    await install(tenant, { name: PLUGIN, version: "1.0.0", config: { label: "first" } });

    const failed = await patchInstallation(tenant, PLUGIN, { config: { label: "fail" } });
    const after = (await getInstallation(tenant, PLUGIN)).body.installation;

    expect(failed.status).toBe(422);
    expect(after.lastError).toMatchObject({ code: "ERR_LIFECYCLE_FAILED", during: "configure" });
    expect(after.lastError.message).toContain("configure refused by config");
    expect(after.config).toEqual({ label: "first" });
    expect(after.revision).toBe(1);
    expect(after.state).toBe("enabled");
  });

  it("records a failed upgrade hook", async () => {
    const tenant = uniqueTenant("last-upgrade");
    await install(tenant, { name: PLUGIN, version: "1.0.0" });

    const failed = await patchInstallation(tenant, PLUGIN, { version: "2.0.0" });
    const after = (await getInstallation(tenant, PLUGIN)).body.installation;

    expect(failed.status).toBe(422);
    expect(after.lastError).toMatchObject({ code: "ERR_LIFECYCLE_FAILED", during: "upgrade" });
    expect(after.version).toBe("1.0.0");
  });

  it("records a failed enable hook", async () => {
    const tenant = uniqueTenant("last-enable");
    await install(tenant, { name: PLUGIN, version: "1.0.0", config: { label: "fail" }, enable: false });

    const failed = await patchInstallation(tenant, PLUGIN, { state: "enabled" });
    const after = (await getInstallation(tenant, PLUGIN)).body.installation;

    expect(failed.status).toBe(422);
    expect(after.lastError).toMatchObject({ code: "ERR_LIFECYCLE_FAILED", during: "enable" });
    expect(after.state).toBe("installed");
  });

  it("is cleared when the installation is enabled again", async () => {
    const tenant = uniqueTenant("last-cleared");
    await install(tenant, { name: PLUGIN, version: "1.0.0" });
    await patchInstallation(tenant, PLUGIN, { version: "2.0.0" });
    await patchInstallation(tenant, PLUGIN, { state: "disabled" });

    const moved = await patchInstallation(tenant, PLUGIN, { version: "3.0.0" });
    const stillDisabled = (await getInstallation(tenant, PLUGIN)).body.installation;
    const enabled = await patchInstallation(tenant, PLUGIN, { state: "enabled" });

    expect(moved.status).toBe(200);
    expect(stillDisabled.lastError).toMatchObject({ during: "upgrade" });
    expect(enabled.status).toBe(200);
    expect(enabled.body.installation.state).toBe("enabled");
    expect(enabled.body.installation.lastError).toBeNull();
  });

  it("is cleared after a revocation and an upgrade away", async () => {
    const keys = [await makeKey("last-error-old", "Ed25519", "last-error-pub"), await makeKey("last-error-new", "Ed25519", "last-error-pub")];
    for (const key of keys) expect((await api("POST", "/v1/trust/keys", key.trusted)).status).toBe(201);
    const plain = pluginSource({ Lifecycle: "async disable(context) {}" });
    await publish(await makePackage({ name: "last-error-revoked", version: "1.0.0", publisher: "last-error-pub", key: keys[0]!.signing, source: plain }));
    await publish(await makePackage({ name: "last-error-revoked", version: "2.0.0", publisher: "last-error-pub", key: keys[1]!.signing, source: plain }));
    const tenant = uniqueTenant("last-revoked");
    await install(tenant, { name: "last-error-revoked", version: "1.0.0" });
    await api("POST", "/v1/trust/keys/last-error-old/revoke", { reason: "compromised" });
    const revoked = (await getInstallation(tenant, "last-error-revoked")).body.installation;

    const upgraded = await patchInstallation(tenant, "last-error-revoked", { version: "2.0.0", state: "enabled" });

    expect(revoked.state).toBe("disabled");
    expect(revoked.lastError).toMatchObject({ code: "ERR_TRUST_KEY_REVOKED" });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.installation).toMatchObject({ version: "2.0.0", state: "enabled", lastError: null });
  });
});
