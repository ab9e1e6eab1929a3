import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { buildCli, makeTempDir, runBerth } from "./helpers/cli.ts";

// A stand-in host on 127.0.0.1 that records requests and replies as each test
// sets up. The end-to-end test runs the same commands against the real host.
interface Recorded {
  method: string;
  url: string;
  body: unknown;
}

type Handler = (request: Recorded) => { status: number; body: unknown; raw?: boolean };

let server: Server;
let host: string;
let handler: Handler;
let requests: Recorded[];
/** The Authorization header of the last request, kept apart so `requests` stays comparable. */
let lastAuthorization: string | undefined;
let temp: { dir: string; remove: () => Promise<void> };

const PACKAGE = { manifest: "header.payload.signature", modules: { "index.js": "export {};" } };

function reply(response: ServerResponse, result: ReturnType<Handler>): void {
  const text = result.raw === true ? String(result.body) : JSON.stringify(result.body);
  response.writeHead(result.status, { "content-type": result.raw === true ? "text/html" : "application/json" });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text === "" ? undefined : JSON.parse(text);
}

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-cli-host");
  await writeFile(join(temp.dir, "plugin.berth.json"), JSON.stringify(PACKAGE));

  server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const recorded = { method: request.method ?? "", url: request.url ?? "", body };
      lastAuthorization = request.headers.authorization;
      requests.push(recorded);
      reply(response, handler(recorded));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await temp?.remove();
});

beforeEach(() => {
  requests = [];
  handler = () => ({ status: 500, body: { error: { code: "ERR_INTERNAL", message: "no handler set" } } });
});

const run = (...args: string[]) => runBerth(args, { cwd: temp.dir });

const VIEW = {
  name: "counter",
  version: "1.2.0",
  state: "enabled",
  grants: { storage: {}, network: { hosts: ["a.example.com"] } },
  config: { greeting: "hello", apiToken: "s3cret-token" },
  hooks: ["ticket.created"],
};

describe("berth publish", () => {
  it("publish posts the package", async () => {
    handler = () => ({ status: 201, body: { published: { name: "counter", version: "1.2.0", digest: "ab".repeat(32), created: true } } });

    const result = await run("publish", "plugin.berth.json", "--host", host);

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(requests).toEqual([{ method: "POST", url: "/v1/plugins", body: PACKAGE }]);
    expect(result.stdout).toBe(`published counter@1.2.0 to ${host}\n  package plugin.berth.json\n  digest  sha256 ${"ab".repeat(32)}\n`);
  });

  it("publish reports an unchanged package", async () => {
    handler = () => ({ status: 200, body: { published: { name: "counter", version: "1.2.0", digest: "cd".repeat(32), created: false } } });

    const result = await run("publish", "plugin.berth.json", "--host", host);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^counter@1\.2\.0 was already published to .* with the same content; nothing changed\n/);
  });

  it("publish reports a refreshed signature", async () => {
    handler = () => ({ status: 200, body: { published: { name: "counter", version: "1.2.0", digest: "ef".repeat(32), created: false, refreshed: true } } });

    const result = await run("publish", "plugin.berth.json", "--host", host);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^counter@1\.2\.0 was already published to .* with the same content; the host replaced its stored signature with this newer one\n/);
    expect(result.stdout).not.toContain("nothing changed");
  });

  it("publish treats an empty BERTH_TOKEN as none", async () => {
    handler = () => ({ status: 201, body: { published: { name: "counter", version: "1.2.0", digest: "ab".repeat(32), created: true } } });

    const result = await runBerth(["publish", "plugin.berth.json", "--host", host], { cwd: temp.dir, env: { BERTH_TOKEN: "" } });

    expect(result.code).toBe(0);
    expect(lastAuthorization).toBeUndefined();
  });

  it("publish sends a set BERTH_TOKEN", async () => {
    handler = () => ({ status: 201, body: { published: { name: "counter", version: "1.2.0", digest: "ab".repeat(32), created: true } } });

    const result = await runBerth(["publish", "plugin.berth.json", "--host", host], { cwd: temp.dir, env: { BERTH_TOKEN: "t0ken" } });

    expect(result.code).toBe(0);
    expect(lastAuthorization).toBe("Bearer t0ken");
  });

  it("publish reports the host's error", async () => {
    handler = () => ({ status: 422, body: { error: { code: "ERR_TRUST_UNKNOWN_KEY", message: 'no trusted publisher key has key ID "k1"', path: "header.kid" } } });

    const result = await run("publish", "plugin.berth.json", "--host", host);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`error ERR_TRUST_UNKNOWN_KEY: no trusted publisher key has key ID "k1"\n  the host responded 422 to POST ${host}/v1/plugins\n`);
  });

  it("publish reports a non-JSON response", async () => {
    handler = () => ({ status: 502, body: "<html>bad gateway</html>", raw: true });

    const result = await run("publish", "plugin.berth.json", "--host", host);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_CLI_HOST_RESPONSE_INVALID: POST .*\/v1\/plugins returned status 502 with a body that is not JSON/);
  });

  it("publish reports an unreachable host", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const result = await run("publish", "plugin.berth.json", "--host", `http://127.0.0.1:${port}`);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error ERR_CLI_HOST_UNREACHABLE: failed to connect to the host at http://127.0.0.1:${port} (ECONNREFUSED); check that the host is running or pass --host URL\n`);
  });

  it("publish reads BERTH_HOST", async () => {
    handler = () => ({ status: 201, body: { published: { name: "counter", version: "1.2.0", digest: "ab".repeat(32), created: true } } });

    const result = await runBerth(["publish", "plugin.berth.json"], { cwd: temp.dir, env: { BERTH_HOST: host } });

    expect(result.code).toBe(0);
    expect(requests).toHaveLength(1);
  });
});

describe("berth install", () => {
  it("install sends grants and config", async () => {
    handler = () => ({ status: 201, body: { installation: VIEW } });

    const result = await run(
      "install", "counter@^1.0.0", "--host", host, "--tenant", "acme",
      "--grant", "storage", "--grant", "network=a.example.com, b.example.com", "--grant", "tickets:read",
      "--config-json", '{"greeting":"hello"}', "--no-enable",
    );

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(requests).toEqual([
      {
        method: "POST",
        url: "/v1/tenants/acme/installations",
        body: {
          name: "counter",
          version: "^1.0.0",
          grants: { storage: {}, network: { hosts: ["a.example.com", "b.example.com"] }, "tickets:read": {} },
          config: { greeting: "hello" },
          enable: false,
        },
      },
    ]);
  });

  it("install prints the installation", async () => {
    handler = () => ({ status: 201, body: { installation: VIEW } });

    const result = await run("install", "counter", "--host", host, "--tenant", "acme");

    expect(result.code).toBe(0);
    expect((requests[0]?.body as { version: string }).version).toBe("*");
    expect(result.stdout).toBe(
      [
        "installed counter@1.2.0 in tenant acme (state enabled)",
        "  grants  storage, network (a.example.com)",
        "  config  greeting, apiToken (values not shown)",
        "  hooks   ticket.created",
        "",
      ].join("\n"),
    );
    expect(result.stdout).not.toContain("s3cret-token");
  });

  it("install converts config to declared types", async () => {
    const manifest = {
      name: "counter",
      version: "1.2.0",
      config: { greeting: { type: "string" }, threshold: { type: "number" }, loud: { type: "boolean" }, labels: { type: "string[]" } },
    };
    handler = (request) => {
      if (request.method === "GET" && request.url === "/v1/plugins") return { status: 200, body: { plugins: [{ name: "counter", versions: ["2.0.0", "1.2.0", "1.1.0"] }] } };
      if (request.method === "GET" && request.url === "/v1/plugins/counter/1.2.0") return { status: 200, body: { name: "counter", version: "1.2.0", manifest } };
      return { status: 201, body: { installation: VIEW } };
    };

    const result = await run(
      "install", "counter@^1.0.0", "--host", host, "--tenant", "acme", "--grant", "storage",
      "--config", "greeting=a=b", "--config", "threshold=2.5", "--config", "loud=true", "--config", "labels=x,y", "--config", "labels=z",
      "--config-json", '{"greeting":"overridden","threshold":1}',
    );

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual(["GET /v1/plugins", "GET /v1/plugins/counter/1.2.0", "POST /v1/tenants/acme/installations"]);
    expect(requests[2]?.body).toEqual({
      name: "counter",
      version: "1.2.0",
      grants: { storage: {} },
      config: { greeting: "a=b", threshold: 2.5, loud: true, labels: ["x", "y", "z"] },
      enable: true,
    });
  });

  it("install rejects an unknown config field", async () => {
    handler = (request) => {
      if (request.url === "/v1/plugins") return { status: 200, body: { plugins: [{ name: "counter", versions: ["1.2.0"] }] } };
      return { status: 200, body: { manifest: { name: "counter", version: "1.2.0", config: { greeting: { type: "string" } } } } };
    };

    const result = await run("install", "counter", "--host", host, "--tenant", "acme", "--config", "greting=hi");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_CONFIG_INVALID: config.greting is not a config field; the fields of counter@1.2.0 are greeting\n");
    expect(requests.some((request) => request.method === "POST")).toBe(false);
  });

  it("install reports an unpublished plugin", async () => {
    handler = () => ({ status: 200, body: { plugins: [] } });

    const result = await run("install", "counter", "--host", host, "--tenant", "acme", "--config", "greeting=hi");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error ERR_PLUGIN_NOT_FOUND: no plugin named "counter" is published; see GET /v1/plugins\n');
  });

  it("install reports the host's error", async () => {
    handler = () => ({ status: 400, body: { error: { code: "ERR_GRANT_REQUIRED_MISSING", message: "counter@1.2.0 requires storage; grant it to install" } } });

    const result = await run("install", "counter", "--host", host, "--tenant", "acme");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error ERR_GRANT_REQUIRED_MISSING: counter@1.2.0 requires storage; grant it to install\n  the host responded 400 to POST ${host}/v1/tenants/acme/installations\n`);
  });

  it("install rejects a malformed grant", async () => {
    const result = await run("install", "counter", "--host", host, "--tenant", "acme", "--grant", "network=");

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_CLI_USAGE: --grant network= lists no hosts; pass network=api.example.com or just network\n");
    expect(requests).toEqual([]);
  });
});
