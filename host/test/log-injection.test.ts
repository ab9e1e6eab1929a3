/**
 * Log injection: control characters in plugin output and in error messages are
 * escaped in the installation's log and in the host's console, so no text a
 * plugin controls can start a line that looks like the host's own.
 */
import { afterEach, describe, expect, it, vi } from "vitest";

import { escapeControlCharacters } from "../src/framework/tenants/log-text.ts";
import { createTicket, hook, install, logMessages, pluginSource, publishPlugin, uninstall, uniqueTenant } from "./helpers/api.ts";
import { pollUntil } from "./helpers/checks.ts";

const FORGED = "line one\nberth audit: forged\r\u0000\u001b[31m\u0085end\tafter tab";

const SOURCE = pluginSource({
  Hooks: `
    async created(ticket) {
      console.log(${JSON.stringify(FORGED)});
    }`,
  Lifecycle: `
    async uninstall(context) {
      throw new Error(${JSON.stringify(FORGED)});
    }`,
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("escapeControlCharacters", () => {
  it("escapes C0, DEL and C1 characters", () => {
    expect(escapeControlCharacters("a\nb\r\u0000\u007f\u0085")).toBe("a\\u000ab\\u000d\\u0000\\u007f\\u0085");
  });

  it("keeps tabs and other text", () => {
    expect(escapeControlCharacters("tab\there é \u2028")).toBe("tab\there é \u2028");
  });
});

describe("log line with control characters", () => {
  it("is stored escaped on one line", async () => {
    await publishPlugin({
      name: "log-injector",
      source: SOURCE,
      hooks: { "ticket.created": hook("created") },
      lifecycle: { entrypoint: "Lifecycle", events: ["uninstall"] },
    });
    const tenant = uniqueTenant("injection");
    await install(tenant, { name: "log-injector" });

    await createTicket(tenant, { title: "forge" });
    const messages = await pollUntil(
      () => logMessages(tenant, "log-injector"),
      (current) => current.some((message) => message.startsWith("line one")),
    );
    const forged = messages.find((message) => message.startsWith("line one"));

    expect(forged).toBe("line one\\u000aberth audit: forged\\u000d\\u0000\\u001b[31m\\u0085end\tafter tab");
    for (const message of messages) expect(message).not.toMatch(/[\n\r\0]/);
  });

  it("is escaped in the host's console", async () => {
    const tenant = uniqueTenant("injection-console");
    await install(tenant, { name: "log-injector" });
    const warn = vi.spyOn(console, "warn");

    const removed = await uninstall(tenant, "log-injector");
    const lines = warn.mock.calls.map((call) => call.map(String).join(" ")).filter((line) => line.includes("uninstall hook failed"));

    expect(removed.status).toBe(200);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("line one\\u000aberth audit: forged");
    expect(lines[0]).not.toMatch(/[\n\r\0]/);
  });
});
