import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import { api, makePackage, publish, uniqueTenant } from "./helpers/api.ts";

const SOURCE = `
import { WorkerEntrypoint } from "cloudflare:workers";
export class Hooks extends WorkerEntrypoint {
  async tag(draft) { return { ...draft, tags: [...draft.tags, "tagged"] }; }
}
`;

/** Returns the registry's plugin list, to show a rejection stored nothing. */
async function publishedNames(): Promise<string[]> {
  const response = await api("GET", "/v1/plugins");
  return response.body.plugins.map((plugin: { name: string }) => plugin.name);
}

describe("POST /v1/plugins", () => {
  it("publishes a signed package and lists it", async () => {
    const pkg = await makePackage({ name: "pub-ok", source: SOURCE, hooks: { "ticket.beforeCreate": { entrypoint: "Hooks", method: "tag" } } });

    const response = await api("POST", "/v1/plugins", pkg);

    expect(response.status).toBe(201);
    expect(response.body.published).toMatchObject({ name: "pub-ok", version: "1.0.0", created: true });
    expect(await publishedNames()).toContain("pub-ok");
  });

  it("rejects a module changed after signing", async () => {
    const pkg = await makePackage({ name: "pub-tampered", source: SOURCE });
    pkg.modules["index.js"] = `${SOURCE}\nexport const extra = 1;\n`;

    const response = await api("POST", "/v1/plugins", pkg);

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_MODULE_DIGEST_MISMATCH");
    expect(response.body.error.path).toBe("package.modules.index.js");
    expect(await publishedNames()).not.toContain("pub-tampered");
  });

  it("rejects a signature by an unknown key", async () => {
    const pkg = await makePackage({ name: "pub-unknown-key", source: SOURCE, key: env.TEST_OTHER_KEY });

    const response = await api("POST", "/v1/plugins", pkg);

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_TRUST_UNKNOWN_KEY");
    expect(response.body.error.message).toContain("berth-test-untrusted");
    expect(await publishedNames()).not.toContain("pub-unknown-key");
  });

  it("rejects a host range that excludes the host version", async () => {
    const pkg = await makePackage({ name: "pub-range", source: SOURCE, hostRange: ">=2.0.0" });

    const response = await api("POST", "/v1/plugins", pkg);

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("ERR_HOST_RANGE_UNSATISFIED");
    expect(response.body.error.message).toContain(">=2.0.0");
    expect(response.body.error.message).toContain("0.1.0");
    expect(await publishedNames()).not.toContain("pub-range");
  });

  it("rejects an unknown manifest key with its path", async () => {
    const pkg = await makePackage({ name: "pub-unknown-field", source: SOURCE, ...({ permissions: ["all"] } as object) });

    const response = await api("POST", "/v1/plugins", pkg);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_MANIFEST_UNKNOWN_KEY");
    expect(response.body.error.path).toBe("manifest.permissions");
    expect(await publishedNames()).not.toContain("pub-unknown-field");
  });

  it("rejects different content under a published version", async () => {
    await publish(await makePackage({ name: "pub-immutable", source: SOURCE }));
    const changed = await makePackage({ name: "pub-immutable", source: `${SOURCE}\n// changed\n` });

    const response = await api("POST", "/v1/plugins", changed);

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe("ERR_REGISTRY_VERSION_CONFLICT");
  });

  it("answers a tenant route with a coded 404 for unknown plugins", async () => {
    const response = await api("POST", `/v1/tenants/${uniqueTenant()}/installations`, { name: "does-not-exist" });

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("ERR_PLUGIN_NOT_FOUND");
  });
});
