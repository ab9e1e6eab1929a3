import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

import { sha256Hex } from "@berth/plugin-sdk/package";
import { createTicket, hook, install, pluginSource, publishPlugin, uniqueTenant } from "./helpers/api.ts";

/** Returns tagger source that no other test publishes, so its R2 object is its own. */
function uniqueTagger(tag: string): string {
  return pluginSource({ Hooks: `async tag(draft) { return { ...draft, tags: [...draft.tags, "${tag}"] }; }` }, `// ${crypto.randomUUID()}`);
}

/** Publishes a tagger under `name`, installs it in a new tenant and returns the tenant and the R2 key of its module. */
async function installTagger(name: string): Promise<{ tenant: string; key: string }> {
  const source = uniqueTagger("honest");
  await publishPlugin({ name, source, hooks: { "ticket.beforeCreate": hook("tag") } });
  const tenant = uniqueTenant(name);
  await install(tenant, { name });
  return { tenant, key: `modules/sha256/${await sha256Hex(source)}` };
}

describe("stored package code", () => {
  it("is refused when changed after publish", async () => {
    const { tenant, key } = await installTagger("code-altered");
    await env.PACKAGES.put(key, uniqueTagger("evil"));

    const created = await createTicket(tenant, { title: "Altered code" });

    expect(created.status).toBe(201);
    expect(created.body.ticket.tags).toEqual([]);
    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "code-altered", status: "failed", error: { code: "ERR_PACKAGE_CODE_ALTERED" } });
  });

  it("is refused when missing", async () => {
    const { tenant, key } = await installTagger("code-missing");
    await env.PACKAGES.delete(key);

    const created = await createTicket(tenant, { title: "Missing code" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.beforeCreate[0]).toMatchObject({ plugin: "code-missing", status: "failed", error: { code: "ERR_PACKAGE_CODE_MISSING" } });
  });

  it("runs when unchanged", async () => {
    const { tenant } = await installTagger("code-intact");

    const created = await createTicket(tenant, { title: "Intact code" });

    expect(created.body.ticket.tags).toEqual(["honest"]);
  });
});
