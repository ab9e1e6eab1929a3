/**
 * Secrets and tokens never leak. A plugin with a secret config field logs it,
 * throws errors that contain it and sends it out. Every response body and log
 * line is then searched for the secret and for the caller's bearer token.
 */
import { beforeAll, describe, expect, it } from "vitest";

import { api, hook, mintToken, pluginSource, publishPlugin, readInbox, uniqueTenant, type ApiResponse } from "./helpers/api.ts";
import { pollUntil } from "./helpers/checks.ts";

const PLUGIN = "secret-keeper";
const SECRET = "sk-live-4f9a2c7e1b";
const OTHER_SECRET = "sk-pin-77d1c0ffee";

// Every hook logs the secret, and the ticket's title selects what else happens.
// "throw" makes the filter throw. "send" sends the secret in a request's path,
// query, header and body, and to a refused host named after it. The guard and the
// panel always throw with the secret, and configure throws when the label is "fail".
const SOURCE = pluginSource({
  Hooks: `
    async tag(draft) {
      const key = this.env.CONFIG.apiKey;
      console.log("tag sees key", key);
      if (draft.title === "throw") throw new Error("filter failed with key " + key);
      return draft;
    }
    async created(ticket) {
      const key = this.env.CONFIG.apiKey;
      console.error("created with key " + key);
      if (ticket.title !== "send") return;
      await fetch("https://hooks.example.test/hook/" + key + "?token=" + key, {
        method: "POST",
        headers: { authorization: "Bearer " + key, "content-type": "application/json" },
        body: JSON.stringify({ key }),
      });
      await fetch("https://" + key + ".refused.test/" + key).catch((error) => console.warn(String(error)));
    }
    async guard(payload) {
      throw new Error("guard failed with key " + this.env.CONFIG.apiKey);
    }
    async panel(ticket) {
      console.log({ nested: { key: this.env.CONFIG.apiKey } });
      throw new Error("panel failed with key " + this.env.CONFIG.apiKey);
    }`,
  Lifecycle: `
    async install(context) { console.log("install with key " + this.env.CONFIG.apiKey); }
    async enable(context) { console.log("enable with key " + this.env.CONFIG.apiKey); }
    async configure(context) {
      console.log("configure with key " + this.env.CONFIG.apiKey);
      if (this.env.CONFIG.label === "fail") throw new Error("configure failed with key " + this.env.CONFIG.apiKey);
    }`,
});

const tenant = uniqueTenant("secrets");
let token: string;
// Every response of this file, to search for the secret and the token at the end.
const seen: { what: string; response: ApiResponse }[] = [];

/** Sends a request as the tenant's admin and records the response. */
async function call(what: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const response = await api(method, path, body, { token });
  seen.push({ what, response });
  return response;
}

const base = () => `/v1/tenants/${tenant}`;

/** Returns the response body as text. */
function text(response: ApiResponse): string {
  return JSON.stringify(response.body);
}

/** Returns the installation's log lines, waiting until the tail delivered a line containing `marker`. */
async function logsWith(marker: string): Promise<string[]> {
  const response = await pollUntil(
    () => call("logs", "GET", `${base()}/installations/${PLUGIN}/logs?limit=500`),
    (current) => current.body.logs.some((line: { message: string }) => line.message.includes(marker)),
  );
  return response.body.logs.map((line: { level: string; message: string }) => `${line.level} ${line.message}`);
}

beforeAll(async () => {
  token = await mintToken({ role: "tenant-admin", tenant });
  await publishPlugin({
    name: PLUGIN,
    source: SOURCE,
    capabilities: { network: { hosts: ["*.example.test"] } },
    hooks: {
      "ticket.beforeCreate": hook("tag"),
      "ticket.created": hook("created"),
      "ticket.beforeClose": hook("guard"),
      "ticket.panels": hook("panel"),
    },
    lifecycle: { entrypoint: "Lifecycle", events: ["install", "enable", "configure"] },
    config: {
      apiKey: { type: "string", secret: true, required: true },
      pins: { type: "string[]", secret: true },
      label: { type: "string" },
    },
  });
});

describe("secret config value", () => {
  it("never appears in installation views", async () => {
    const installed = await call("install", "POST", `${base()}/installations`, { name: PLUGIN, grants: { network: {} }, config: { apiKey: SECRET, label: "first" } });
    const one = await call("get", "GET", `${base()}/installations/${PLUGIN}`);
    const list = await call("list", "GET", `${base()}/installations`);
    const patched = await call("configure", "PATCH", `${base()}/installations/${PLUGIN}`, { config: { label: "second" } });

    expect(installed.status).toBe(201);
    expect(installed.body.installation.secrets).toEqual(["apiKey"]);
    expect(installed.body.installation.config).toEqual({ label: "first" });
    expect(patched.status).toBe(200);
    for (const response of [installed, one, list, patched]) expect(text(response)).not.toContain(SECRET);
  });

  it("is kept when a config change leaves it out", async () => {
    // PATCH above sent only the label; the plugin must still see its key.
    const created = await call("ticket", "POST", `${base()}/tickets`, { title: "plain" });
    const lines = await logsWith("tag sees key");

    expect(created.status).toBe(201);
    expect(lines).toContain("log tag sees key [secret]");
  });

  it("never appears in the log", async () => {
    await call("ticket", "POST", `${base()}/tickets`, { title: "send" });
    const ticket = await call("ticket", "POST", `${base()}/tickets`, { title: "throw" });
    await call("show", "GET", `${base()}/tickets/${ticket.body.ticket.id}`);
    await call("close", "POST", `${base()}/tickets/${ticket.body.ticket.id}/close`, {});
    await call("configure", "PATCH", `${base()}/installations/${PLUGIN}`, { config: { label: "fail" } });
    const lines = await logsWith("refused.test");

    expect(lines.some((line) => line.startsWith("egress egress allowed: POST https://hooks.example.test/hook/"))).toBe(true);
    expect(lines.some((line) => line.includes("egress refused"))).toBe(true);
    expect(lines.some((line) => line.includes("configure: ERR_LIFECYCLE_FAILED"))).toBe(true);
    expect(lines.some((line) => line.includes("ticket.beforeClose: ERR_HOOK_FAILED"))).toBe(true);
    for (const line of lines) expect(line).not.toContain(SECRET);
  });

  it("never appears in the installation's last error", async () => {
    const installation = await call("get", "GET", `${base()}/installations/${PLUGIN}`);

    expect(installation.body.installation.lastError).not.toBeNull();
    expect(text(installation)).not.toContain(SECRET);
  });

  it("never appears in the demo inbox", async () => {
    const inbox = await call("inbox", "GET", `${base()}/inbox`);

    expect(inbox.body.requests).toHaveLength(1);
    expect(inbox.body.requests[0].url).toBe("https://hooks.example.test/hook/[secret]?token=[secret]");
    expect(inbox.body.requests[0].body).toBe('{"key":"[secret]"}');
    expect(text(inbox)).not.toContain(SECRET);
  });

  it("never appears in a rejected config change", async () => {
    const response = await call("configure", "PATCH", `${base()}/installations/${PLUGIN}`, { config: { pins: OTHER_SECRET } });

    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "ERR_CONFIG_INVALID", path: "config.pins" });
    expect(text(response)).not.toContain(OTHER_SECRET);
  });

  it("never appears in a failed filter's call record", async () => {
    const created = await call("ticket", "POST", `${base()}/tickets`, { title: "throw" });

    expect(created.body.hooks.beforeCreate[0].status).toBe("failed");
    expect(text(created)).not.toContain(SECRET);
  });

  it("never appears in a failed guard's call record", async () => {
    const created = await call("ticket", "POST", `${base()}/tickets`, { title: "plain" });

    const closed = await call("close", "POST", `${base()}/tickets/${created.body.ticket.id}/close`, {});

    expect(closed.body.decision.calls[0].status).toBe("failed");
    expect(text(closed)).not.toContain(SECRET);
  });

  it("never appears in a failed lifecycle hook's error", async () => {
    const response = await call("configure", "PATCH", `${base()}/installations/${PLUGIN}`, { config: { label: "fail" } });

    expect(response.status).toBe(422);
    expect(text(response)).not.toContain(SECRET);
  });

  // A failed configure hook is logged before the new config is stored, so its new secret must be masked too.
  it("never appears in the log when a new secret fails configure", async () => {
    const response = await call("configure", "PATCH", `${base()}/installations/${PLUGIN}`, { config: { apiKey: OTHER_SECRET, label: "fail" } });
    const lines = await logsWith(`configure failed with key`);

    expect(response.status).toBe(422);
    for (const line of lines) expect(line).not.toContain(OTHER_SECRET);
  });

  it("never appears after uninstall", async () => {
    const removed = await call("uninstall", "DELETE", `${base()}/installations/${PLUGIN}`);
    const tickets = await call("tickets", "GET", `${base()}/tickets`);

    expect(removed.status).toBe(200);
    expect(text(removed)).not.toContain(SECRET);
    expect(text(tickets)).not.toContain(SECRET);
  });
});

describe("bearer token", () => {
  it("never appears in a response", () => {
    expect(seen.length).toBeGreaterThan(10);
    for (const { what, response } of seen) expect(text(response), what).not.toContain(token);
  });

  it("never appears in the inbox", async () => {
    const requests = await readInbox(tenant);

    expect(JSON.stringify(requests)).not.toContain(token);
  });
});
