/**
 * Secret config values in the forms a log line may carry them (percent-encoded
 * in a URL, as JSON, as `\xNN` bytes) are masked, short secrets are rejected, and
 * prototype-named config and grant keys are rejected like other unknown keys.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { MIN_SECRET_LENGTH, resolveConfig, secretForms } from "../src/framework/tenants/config.ts";
import { api, createTicket, hook, install, patchInstallation, pluginSource, publishPlugin, uniqueTenant } from "./helpers/api.ts";
import { pollUntil } from "./helpers/checks.ts";

const PLUGIN = "secret-encodings";
// Space, slash, plus, a non-ASCII letter, and the characters that end a URL path.
const SECRET = "p@ss w/rd+é?&#x";

// The event hook sends the secret in a request path and logs it percent-encoded,
// as JSON, and as the `\xNN` bytes workerd shows for an invalid header value.
const SOURCE = pluginSource({
  Hooks: `
    async created(ticket) {
      const key = this.env.CONFIG.apiKey;
      const bytes = (text) => [...new TextEncoder().encode(text)].map((byte) => "\\\\x" + byte.toString(16).padStart(2, "0")).join("");
      await fetch("https://hooks.example.test/p/" + key, { method: "POST", body: "{}" });
      console.log("component " + encodeURIComponent(key));
      console.log("uri " + encodeURI(key));
      console.log({ json: key + '"' });
      console.warn('"Bearer ' + key + '" (raw bytes: "' + bytes("Bearer " + key) + '")');
      console.warn("upper " + bytes(key).toUpperCase().replaceAll("\\\\X", "\\\\x"));
      console.log("done encodings");
    }`,
});

const MANIFEST_CONFIG = {
  apiKey: { type: "string" as const, secret: true, required: true },
  pins: { type: "string[]" as const, secret: true },
  label: { type: "string" as const },
};

beforeAll(async () => {
  await publishPlugin({
    name: PLUGIN,
    source: SOURCE,
    capabilities: { network: { hosts: ["*.example.test"] } },
    hooks: { "ticket.created": hook("created") },
    config: MANIFEST_CONFIG,
  });
});

describe("encoded secret", () => {
  it("is masked in every log line", async () => {
    const tenant = uniqueTenant("encodings");
    await install(tenant, { name: PLUGIN, grants: { network: {} }, config: { apiKey: SECRET } });

    await createTicket(tenant, { title: "send" });
    const response = await pollUntil(
      () => api("GET", `/v1/tenants/${tenant}/installations/${PLUGIN}/logs?limit=500`),
      (current) => current.body.logs.some((line: { message: string }) => line.message === "done encodings"),
    );
    const messages: string[] = response.body.logs.map((line: { message: string }) => line.message);

    expect(messages).toContain("egress allowed: POST https://hooks.example.test/p/[secret]");
    expect(messages).toContain("component [secret]");
    expect(messages).toContain("uri [secret]");
    expect(messages).toContain('{"json":"[secret]\\""}');
    expect(messages).toContain('"Bearer [secret]" (raw bytes: "\\x42\\x65\\x61\\x72\\x65\\x72\\x20[secret]")');
    expect(messages).toContain("upper [secret]");
    for (const form of ["p@ss", "%20w", "%C3%A9", "\\x70\\x40", "\\x70\\x40".toUpperCase()]) {
      for (const message of messages) expect(message).not.toContain(form);
    }
  });

  it("has URL forms without the fragment", () => {
    const forms = secretForms(SECRET);

    expect(forms).toContain(SECRET);
    expect(forms).toContain(encodeURIComponent(SECRET));
    expect(forms).toContain(encodeURI(SECRET));
    expect(forms).toContain("p@ss%20w/rd+%C3%A9?&");
  });
});

describe("long secret", () => {
  it("is masked as bytes past the forwarding cut", async () => {
    // 2,000 two-byte characters make a 16,000-character "\xNN" form that starts inside the kept 1,000 characters.
    const longSecret = "é".repeat(2_000);
    await publishPlugin({
      name: "secret-long-bytes",
      source: pluginSource({
        Hooks: `
          async created(ticket) {
            const bytes = [...new TextEncoder().encode(this.env.CONFIG.apiKey)].map((byte) => "\\\\x" + byte.toString(16)).join("");
            console.log("x".repeat(900) + bytes);
          }`,
      }),
      hooks: { "ticket.created": hook("created") },
      config: { apiKey: { type: "string", secret: true, required: true } },
    });
    const tenant = uniqueTenant("long-secret");
    await install(tenant, { name: "secret-long-bytes", config: { apiKey: longSecret } });

    await createTicket(tenant, { title: "send" });
    const response = await pollUntil(
      () => api("GET", `/v1/tenants/${tenant}/installations/secret-long-bytes/logs`),
      (current) => current.body.logs.some((line: { message: string }) => line.message.startsWith("xxx")),
    );
    const line: string = response.body.logs.find((entry: { message: string }) => entry.message.startsWith("xxx")).message;

    expect(line).toBe(`${"x".repeat(900)}[secret]`);
  });
});

describe("short secret", () => {
  const manifest = { config: MANIFEST_CONFIG } as unknown as Parameters<typeof resolveConfig>[0];

  it("is rejected at install", async () => {
    const tenant = uniqueTenant("short-secret");
    const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, grants: { network: {} }, config: { apiKey: "abc" } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_CONFIG_INVALID");
    expect(response.body.error.path).toBe("config.apiKey");
    expect(response.body.error.message).toContain(`at least ${MIN_SECRET_LENGTH} characters`);
    expect(response.body.error.message).not.toContain("abc");
  });

  it("is rejected when empty and required", () => {
    expect(() => resolveConfig(manifest, { apiKey: "" })).toThrow(/config\.apiKey must have at least 8 characters/);
  });

  it("is rejected as a string[] item", () => {
    expect(() => resolveConfig(manifest, { apiKey: "long-enough", pins: ["long-enough", "1234"] })).toThrow(/config\.pins\.1 must have at least 8 characters/);
  });

  it("is accepted at the minimum length", () => {
    expect(resolveConfig(manifest, { apiKey: "12345678" })).toEqual({ apiKey: "12345678" });
  });
});

describe("prototype-named config key", () => {
  const manifest = { config: MANIFEST_CONFIG } as unknown as Parameters<typeof resolveConfig>[0];

  for (const key of ["constructor", "__proto__", "prototype"]) {
    it(`${key} is rejected by resolveConfig`, () => {
      const input = JSON.parse(`{"apiKey": "long-enough", "${key}": "x"}`);

      expect(() => resolveConfig(manifest, input)).toThrow(`config.${key} is not a known key`);
    });

    it(`${key} is rejected at install`, async () => {
      const tenant = uniqueTenant("proto-config");
      const config = JSON.parse(`{"apiKey": "long-enough", "${key}": "x"}`);
      const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, grants: { network: {} }, config });

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("ERR_CONFIG_INVALID");
      expect(response.body.error.message).toBe(`config.${key} is not a known key; remove it or check its spelling`);
    });

    it(`${key} is rejected in a grant`, async () => {
      const tenant = uniqueTenant("proto-grant");
      const grants = JSON.parse(`{"network": {}, "${key}": {}}`);
      const response = await api("POST", `/v1/tenants/${tenant}/installations`, { name: PLUGIN, grants, config: { apiKey: "long-enough" } });

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("ERR_REQUEST_INVALID");
      expect(response.body.error.path).toBe(`body.grants.${key}`);
    });
  }

  it("constructor is rejected in a config change", async () => {
    const tenant = uniqueTenant("proto-patch");
    await install(tenant, { name: PLUGIN, grants: { network: {} }, config: { apiKey: "long-enough" } });

    const response = await patchInstallation(tenant, PLUGIN, { config: { constructor: "x" } });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("ERR_CONFIG_INVALID");
    expect(response.body.error.path).toBe("config.constructor");
  });
});
