import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { buildCli, makeTempDir, runBerth, type RunResult } from "../../plugin-sdk/test/helpers/cli.ts";
import { startDevHost, type DevHost } from "./wrangler-dev.ts";

// From an empty folder to a tagged ticket, with the berth CLI as a process and
// the demo host under wrangler dev: init, keygen, edit, build, sign, publish,
// install, then create a ticket through the host's API.

const REPO = resolve(import.meta.dirname, "../..");
const PUBLISHER = "acme-labs";
const PLUGIN = "acme-tagger";
const TAG = "acme-triaged";
const TENANT = "e2e-acme";

let temp: { dir: string; remove: () => Promise<void> };
let cwd: string;
let host: DevHost | undefined;
/** An operator token from `berth token`, signed with the development auth key the demo host trusts. */
let operatorToken = "";

/** The filter added to the scaffolded entrypoint; `ticket.beforeCreate` gets each new ticket. */
const FILTER_METHOD = `
  /** ticket.beforeCreate (filter): adds the configured tag and, if configured, raises the priority. */
  async tagTicket(draft: Ticket & { priority: string }): Promise<Ticket> {
    const tag = String(this.env.CONFIG["tag"]);
    const priority = this.env.CONFIG["escalate"] === true ? "high" : draft.priority;
    return { ...draft, priority, tags: [...draft.tags, tag] };
  }
`;

function expectSuccess(result: RunResult): void {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${host?.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${operatorToken}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-e2e");
  cwd = temp.dir;

  expectSuccess(await runBerth(["init", PLUGIN, "--publisher", PUBLISHER], { cwd }));
  expectSuccess(await runBerth(["keygen", "--publisher", PUBLISHER, "--out", "keys"], { cwd }));
  const minted = await runBerth(["token", "--role", "operator", "--key", join(REPO, "manifests/keys/auth.DEVELOPMENT-ONLY.private.json")], { cwd });
  expectSuccess(minted);
  operatorToken = minted.stdout.trim();

  // Subscribe the scaffold to ticket.beforeCreate with a new filter method.
  const projectPath = join(cwd, PLUGIN, "berth.json");
  const project = JSON.parse(await readFile(projectPath, "utf8"));
  project.hooks["ticket.beforeCreate"] = { entrypoint: "Hooks", method: "tagTicket" };
  project.config = {
    tag: { type: "string", description: "Tag added to new tickets", default: "acme-default" },
    escalate: { type: "boolean", description: "Raise new tickets to high priority", default: false },
  };
  await writeFile(projectPath, JSON.stringify(project, null, 2));

  const sourcePath = join(cwd, PLUGIN, "src/index.ts");
  const source = await readFile(sourcePath, "utf8");
  const classStart = "export class Hooks extends WorkerEntrypoint<PluginEnv> {\n";
  expect(source).toContain(classStart);
  await writeFile(sourcePath, source.replace(classStart, `${classStart}${FILTER_METHOD}`));

  expectSuccess(await runBerth(["build", PLUGIN], { cwd }));
  expectSuccess(await runBerth(["sign", PLUGIN, "--key", "keys/acme-labs.private.json"], { cwd }));

  const trusted = await readFile(join(cwd, "keys/acme-labs.public.json"), "utf8");
  host = await startDevHost({
    cwd: REPO,
    persistTo: join(cwd, "state"),
    vars: { BERTH_TRUSTED_KEYS: JSON.stringify([JSON.parse(trusted)]) },
  });
}, 180_000);

// The host's log explains a failed request, such as an ERR_INTERNAL response.
afterEach((context) => {
  if (context.task.result?.state === "fail") console.error(`wrangler output:\n${host?.output() ?? "(host not started)"}`);
});

afterAll(async () => {
  await host?.stop();
  await temp?.remove();
}, 30_000);

describe("berth CLI against wrangler dev", () => {
  it("publish uploads the package", async () => {
    const result = await runBerth(["publish", PLUGIN, "--host", host?.url ?? ""], { cwd, env: { BERTH_TOKEN: operatorToken } });

    expectSuccess(result);
    expect(result.stdout).toMatch(new RegExp(`^published ${PLUGIN}@0\\.1\\.0 to ${host?.url}\\n`));
    const listed = await api("GET", "/v1/plugins");
    expect(listed.body.plugins).toContainEqual(expect.objectContaining({ name: PLUGIN, publisher: PUBLISHER, latest: "0.1.0" }));
  });

  it("publish digest matches verify", async () => {
    const published = await runBerth(["publish", PLUGIN, "--host", host?.url ?? ""], { cwd, env: { BERTH_TOKEN: operatorToken } });
    const verified = await runBerth(["verify", PLUGIN, "--trust", "keys/acme-labs.public.json"], { cwd });
    const digest = /digest {3}sha256 ([0-9a-f]{64})/.exec(verified.stdout)?.[1];

    expectSuccess(published);
    expectSuccess(verified);
    expect(published.stdout).toContain("was already published");
    expect(digest).toBeDefined();
    expect(published.stdout).toContain(`digest  sha256 ${digest}`);
  });

  it("host and verify reject tampering alike", async () => {
    const pkg = JSON.parse(await readFile(join(cwd, PLUGIN, "dist/package.berth.json"), "utf8"));
    pkg.modules["index.js"] += "\nglobalThis.injected = true;\n";
    await writeFile(join(cwd, "tampered.berth.json"), JSON.stringify(pkg));

    const offline = await runBerth(["verify", "tampered.berth.json", "--trust", "keys/acme-labs.public.json"], { cwd });
    const online = await runBerth(["publish", "tampered.berth.json", "--host", host?.url ?? ""], { cwd, env: { BERTH_TOKEN: operatorToken } });

    expect(offline.code).toBe(1);
    expect(online.code).toBe(1);
    expect(offline.stderr).toMatch(/^error ERR_MODULE_DIGEST_MISMATCH: /);
    expect(online.stderr).toMatch(/^error ERR_MODULE_DIGEST_MISMATCH: /);
    expect(online.stderr).toContain(`the host responded 422 to POST ${host?.url}/v1/plugins`);
  });

  it("install grants storage and config", async () => {
    const result = await runBerth(
      ["install", `${PLUGIN}@^0.1.0`, "--host", host?.url ?? "", "--tenant", TENANT, "--grant", "storage", "--config", `tag=${TAG}`, "--config", "escalate=true"],
      { cwd, env: { BERTH_TOKEN: operatorToken } },
    );

    expectSuccess(result);
    expect(result.stdout).toBe(
      [
        `installed ${PLUGIN}@0.1.0 in tenant ${TENANT} (state enabled)`,
        "  grants  storage",
        "  config  tag, escalate (values not shown)",
        "  hooks   ticket.created, ticket.beforeCreate",
        "",
      ].join("\n"),
    );
  });

  it("installation stores typed config", async () => {
    const installation = await api("GET", `/v1/tenants/${TENANT}/installations/${PLUGIN}`);

    expect(installation.status).toBe(200);
    expect(installation.body.installation.config).toEqual({ tag: TAG, escalate: true });
  });

  it("install twice reports the host's code", async () => {
    const result = await runBerth(["install", PLUGIN, "--host", host?.url ?? "", "--tenant", TENANT, "--grant", "storage"], { cwd, env: { BERTH_TOKEN: operatorToken } });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_INSTALLATION_EXISTS: /);
  });

  it("new ticket carries the plugin's tag", async () => {
    const created = await api("POST", `/v1/tenants/${TENANT}/tickets`, { title: "Printer is on fire", tags: ["hardware"], priority: "low" });

    expect(created.status).toBe(201);
    expect(created.body.hooks.beforeCreate).toEqual([{ plugin: PLUGIN, version: "0.1.0", status: "ok" }]);
    expect(created.body.hooks.created).toEqual([{ plugin: PLUGIN, version: "0.1.0", status: "ok" }]);

    const stored = await api("GET", `/v1/tenants/${TENANT}/tickets/${created.body.ticket.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body.ticket.tags).toEqual(["hardware", TAG]);
    expect(stored.body.ticket.priority).toBe("high");
  });

  it("other tenants stay untagged", async () => {
    const created = await api("POST", "/v1/tenants/e2e-other/tickets", { title: "No plugins here" });

    expect(created.status).toBe(201);
    expect(created.body.ticket.tags).toEqual([]);
  });
});
