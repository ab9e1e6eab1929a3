import { beforeAll, describe, expect, it } from "vitest";

import { api, hook, install, logMessages, makePackage, patchInstallation, pluginSource, publish, uniqueTenant } from "./helpers/api.ts";

const HOOKS = { "ticket.beforeCreate": hook("tag") };

function source(label: string): string {
  return pluginSource({ Hooks: "async tag(draft) { return draft; }" }, `// ${label}`);
}

let counter = 0;

/** Publishes a package with `fields` under a fresh name and returns the response. */
async function publishWith(fields: Record<string, unknown>) {
  counter += 1;
  const name = `vp-${counter}`;
  return api("POST", "/v1/plugins", await makePackage({ name, source: source(name), ...fields }));
}

describe("plugin versions at publish", () => {
  it.each([
    ["1.0.0", 201, null],
    ["0.0.1", 201, null],
    ["1.0.0-beta.1", 201, null],
    ["1.0.0-rc.1.2", 201, null],
    ["1.0.0+build.7", 400, "build metadata"],
    ["1.0.0-beta+exp.sha.5114f85", 400, "build metadata"],
    ["v1.0.0", 400, "strict semver"],
    ["=1.0.0", 400, "strict semver"],
    ["1.0", 400, "strict semver"],
    ["01.0.0", 400, "strict semver"],
    ["1.0.0-01", 400, "strict semver"],
    [" 1.0.0", 400, "strict semver"],
    [`1.0.0-${"a".repeat(60)}`, 400, "at most 64 characters"],
  ] as const)("%s gives %i", async (version, status, message) => {
    const response = await publishWith({ version });

    expect(response.status).toBe(status);
    if (message !== null) {
      expect(response.body.error.code).toBe("ERR_MANIFEST_INVALID");
      expect(response.body.error.path).toBe("manifest.version");
      expect(response.body.error.message).toContain(message);
    }
  });
});

describe("host ranges at publish", () => {
  // This host is version 0.1.0, a release, so only ranges without a prerelease of 0.1.0 decide.
  it.each([
    ["^0.1.0", 201, null],
    [">=0.1.0 <1.0.0", 201, null],
    ["*", 201, null],
    ["0.1.x", 201, null],
    ["^0.0.9 || ^0.1.0", 201, null],
    [">=0.1.0-beta.0", 201, null],
    ["^0.1.1", 422, "ERR_HOST_RANGE_UNSATISFIED"],
    ["0.1.0-rc.1", 422, "ERR_HOST_RANGE_UNSATISFIED"],
    ["^0.2.0", 422, "ERR_HOST_RANGE_UNSATISFIED"],
    ["^0.1.0+build", 400, "ERR_MANIFEST_INVALID"],
    ["latest", 400, "ERR_MANIFEST_INVALID"],
    [Array.from({ length: 20 }, () => ">=0.1.0").join(" "), 400, "ERR_MANIFEST_INVALID"],
  ] as const)("%s gives %i", async (hostRange, status, code) => {
    const response = await publishWith({ hostRange });

    expect(response.status).toBe(status);
    if (code !== null) expect(response.body.error.code).toBe(code);
  });
});

describe("version resolution at install", () => {
  // Published: 1.0.0, 1.1.0-beta.1, 1.1.0, 1.2.0 (yanked), 2.0.0-rc.1.
  beforeAll(async () => {
    for (const version of ["1.0.0", "1.1.0-beta.1", "1.1.0", "1.2.0", "2.0.0-rc.1"]) {
      await publish(await makePackage({ name: "vp-resolve", version, source: source(version), hooks: HOOKS }));
    }
    const yanked = await api("POST", "/v1/plugins/vp-resolve/1.2.0/yank", { reason: "version policy fixture" });
    expect(yanked.status).toBe(200);
  });

  it.each([
    ["*", 201, "1.1.0"],
    ["^1.0.0", 201, "1.1.0"],
    ["~1.0.0", 201, "1.0.0"],
    ["1.0.0", 201, "1.0.0"],
    ["^1.1.0-beta.0", 201, "1.1.0"],
    ["1.1.0-beta.1", 201, "1.1.0-beta.1"],
    [">=2.0.0-rc.0", 201, "2.0.0-rc.1"],
    ["2.0.0-rc.1", 201, "2.0.0-rc.1"],
    ["^2.0.0", 404, "ERR_PLUGIN_NOT_FOUND"],
    ["1.2.0", 410, "ERR_PACKAGE_YANKED"],
    [">=1.2.0 <2.0.0", 404, "ERR_PLUGIN_NOT_FOUND"],
    ["1.0.0+build", 400, "ERR_REQUEST_INVALID"],
    ["latest", 400, "ERR_REQUEST_INVALID"],
  ] as const)("%s gives %i %s", async (version, status, expected) => {
    const response = await api("POST", `/v1/tenants/${uniqueTenant("vp-resolve")}/installations`, { name: "vp-resolve", version });

    expect(response.status).toBe(status);
    if (status === 201) expect(response.body.installation.version).toBe(expected);
    else expect(response.body.error.code).toBe(expected);
  });

  it("lists the greatest release that is not yanked as latest", async () => {
    const listed = await api("GET", "/v1/plugins");
    const plugin = listed.body.plugins.find((entry: { name: string }) => entry.name === "vp-resolve");

    expect(plugin).toMatchObject({ latest: "1.1.0", versions: ["2.0.0-rc.1", "1.2.0", "1.1.0", "1.1.0-beta.1", "1.0.0"], yanked: ["1.2.0"] });
  });
});

describe("version changes of an installation", () => {
  // Published: 1.0.0, 2.0.0, 3.0.0; each case starts a new tenant on 2.0.0.
  beforeAll(async () => {
    for (const version of ["1.0.0", "2.0.0", "3.0.0"]) {
      await publish(await makePackage({ name: "vp-move", version, source: source(`move ${version}`), hooks: HOOKS }));
    }
  });

  it.each([
    [{ version: "3.0.0" }, 200, "3.0.0"],
    [{ version: "1.0.0" }, 409, "ERR_UPGRADE_NOT_GREATER"],
    [{ version: "2.0.0" }, 409, "ERR_UPGRADE_NOT_GREATER"],
    [{ version: "^1.0.0" }, 409, "ERR_UPGRADE_NOT_GREATER"],
    [{ version: "1.0.0", downgrade: true }, 200, "1.0.0"],
    [{ version: "3.0.0", downgrade: true }, 400, "ERR_REQUEST_INVALID"],
    [{ version: "2.0.0", downgrade: true }, 409, "ERR_UPGRADE_NOT_GREATER"],
    [{ downgrade: true }, 400, "ERR_REQUEST_INVALID"],
    [{ version: "1.0.0", downgrade: "yes" }, 400, "ERR_REQUEST_INVALID"],
  ] as const)("%j from 2.0.0 gives %i %s", async (body, status, expected) => {
    const tenant = uniqueTenant("vp-move");
    await install(tenant, { name: "vp-move", version: "2.0.0" });

    const response = await patchInstallation(tenant, "vp-move", body);

    expect(response.status).toBe(status);
    if (status === 200) expect(response.body.installation.version).toBe(expected);
    else expect(response.body.error.code).toBe(expected);
  });

  it("suggests downgrade: true when a lower version is rejected", async () => {
    const tenant = uniqueTenant("vp-move");
    await install(tenant, { name: "vp-move", version: "2.0.0" });

    const response = await patchInstallation(tenant, "vp-move", { version: "1.0.0" });

    expect(response.body.error.message).toContain("downgrade: true");
    expect(response.body.error.path).toBe("version");
  });

  it("writes an audit line for a downgrade and no lastError", async () => {
    const tenant = uniqueTenant("vp-move");
    await install(tenant, { name: "vp-move", version: "2.0.0" });

    const response = await patchInstallation(tenant, "vp-move", { version: "1.0.0", downgrade: true });
    const logs = await api("GET", `/v1/tenants/${tenant}/installations/vp-move/logs`);
    const audit = logs.body.logs.filter((line: { level: string }) => line.level === "audit");

    expect(response.body.installation.lastError).toBeNull();
    expect(response.body.installation.revision).toBe(2);
    expect(audit).toHaveLength(1);
    expect(audit[0].message).toBe("downgraded from 2.0.0 to 1.0.0 on explicit request by test-operator");
    expect(await logMessages(tenant, "vp-move")).not.toContain("upgraded from 2.0.0 to 1.0.0");
  });
});

describe("a held name@version", () => {
  it("keeps its first content", async () => {
    await publish(await makePackage({ name: "vp-held", source: source("first") }));

    const changed = await api("POST", "/v1/plugins", await makePackage({ name: "vp-held", source: source("second") }));
    const same = await api("POST", "/v1/plugins", await makePackage({ name: "vp-held", source: source("first") }));

    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe("ERR_REGISTRY_VERSION_CONFLICT");
    expect(same.status).toBe(200);
    expect(same.body.published.created).toBe(false);
  });
});
