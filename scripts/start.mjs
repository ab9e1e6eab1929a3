// Starts the demo: the help desk host on http://127.0.0.1:8787 with local
// persistent state, publishes the example plugins with their committed signed
// manifests, installs them in tenant "demo", and prints what to try next.
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { createWriteStream, existsSync } from "node:fs";
import { join } from "node:path";

import { mintApiToken } from "../plugin-sdk/src/auth/token.ts";
import { buildPlugin, readModules } from "../plugin-sdk/src/build/index.ts";

const HOST = "127.0.0.1";
const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://${HOST}:${PORT}`;
const TENANT = "demo";
const STARTUP_TIMEOUT_MS = 90_000;

/** Grants and config each example plugin is installed with in the demo tenant. */
const DEMO_INSTALLS = {
  "auto-tagger": { grants: { storage: {} } },
  "webhook-notifier": { grants: { network: {} }, config: { url: "https://hooks.example.test/berth" } },
  "audit-trail": { grants: { storage: {} } },
  "close-guard": { grants: {} },
};

const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

// Development only: the demo host trusts this key for API tokens.
const AUTH_KEY_PATH = "manifests/keys/auth.DEVELOPMENT-ONLY.private.json";
let operatorToken = "";

async function main() {
  if (await isListening()) {
    fail(`something already answers on ${BASE}; stop it or set PORT to another port`);
  }

  await mkdir(".wrangler", { recursive: true });
  const logPath = join(".wrangler", "demo-host.log");
  const log = createWriteStream(logPath, { flags: "a" });
  const args = ["node_modules/wrangler/bin/wrangler.js", "dev", "--ip", HOST, "--port", String(PORT), "--persist-to", ".wrangler/state", "--show-interactive-dev-session=false"];
  const extraKeys = trustedKeysVar();
  if (extraKeys !== undefined) args.push("--var", `BERTH_TRUSTED_KEYS:${extraKeys}`);
  const wrangler = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  host = wrangler;
  wrangler.stdout.pipe(log);
  wrangler.stderr.pipe(log);
  const stop = () => wrangler.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  wrangler.on("exit", (code) => {
    console.log(`\nThe host stopped (exit code ${code ?? "none"}); its output is in ${logPath}.`);
    process.exit(code ?? 0);
  });

  console.log(`Starting the help desk host on ${BASE} (wrangler output goes to ${logPath}) ...`);
  await waitForHealth();
  operatorToken = await mintToken({ role: "operator" }, "demo-operator");

  for (const [name, install] of Object.entries(DEMO_INSTALLS)) {
    const pkg = await examplePackage(name);
    const published = await call("POST", "/v1/plugins", pkg);
    const version = published.published.version;
    console.log(`published ${name}@${version}${published.published.created ? "" : " (already in the registry)"}`);

    const installed = await call("POST", `/v1/tenants/${TENANT}/installations`, { name, version, ...install }, [409]);
    console.log(installed.error ? `  ${name} is already installed in tenant ${TENANT}` : `  installed in tenant ${TENANT}, state ${installed.installation.state}`);
  }

  printNextSteps();
}

/** Mints a 12-hour API token with the development auth key. */
async function mintToken(claims, subject) {
  const jwk = JSON.parse(await readFile(AUTH_KEY_PATH, "utf8"));
  return mintApiToken(jwk, claims, { subject, expiresIn: "12h" });
}

/**
 * Returns BERTH_TRUSTED_KEYS from the environment, checked to be a JSON array, so
 * a host can trust a new publisher key: BERTH_TRUSTED_KEYS="[$(cat keys/acme.public.json)]" npm start.
 */
function trustedKeysVar() {
  const value = process.env.BERTH_TRUSTED_KEYS;
  if (value === undefined || value.trim() === "") return undefined;
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch {
    fail("BERTH_TRUSTED_KEYS is not valid JSON; set it to a JSON array of trusted keys, such as \"[$(cat keys/acme.public.json)]\"");
  }
  if (!Array.isArray(parsed)) fail("BERTH_TRUSTED_KEYS must be a JSON array of trusted keys; wrap a single key in [ ]");
  console.log(`Trusting ${parsed.length} extra publisher key(s) from BERTH_TRUSTED_KEYS.`);
  return JSON.stringify(parsed);
}

/** Builds an example and pairs its code with the committed signed manifest. */
async function examplePackage(name) {
  const dir = join("example-plugins", name);
  const jwsPath = join("manifests", `${name}.jws`);
  if (!existsSync(dir) || !existsSync(jwsPath)) fail(`example plugin ${name} or its signed manifest ${jwsPath} is missing`);

  const built = await buildPlugin(dir);
  return { manifest: (await readFile(jwsPath, "utf8")).trim(), modules: await readModules(built.outDir, built.manifest) };
}

async function call(method, path, body, allowed = []) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${operatorToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (response.ok || allowed.includes(response.status)) return json;
  const hint = json.error?.code === "ERR_MODULE_DIGEST_MISMATCH" ? " (the example's code changed since it was signed: run npm run sign-examples)" : "";
  fail(`${method} ${path} failed with ${response.status}: ${json.error?.code}: ${json.error?.message}${hint}`);
}

async function isListening() {
  try {
    await fetch(`${BASE}/v1/health`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

async function waitForHealth() {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await isListening()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  fail(`the host did not answer on ${BASE} within ${STARTUP_TIMEOUT_MS / 1000} s; see .wrangler/demo-host.log`);
}

function printNextSteps() {
  const tenantUrl = `${BASE}/v1/tenants/${TENANT}`;
  console.log(`
The help desk is running on ${BASE} with four plugins installed in tenant "${TENANT}".
Every route but /v1/health needs a bearer token; berth token mints one with the
development key this host trusts. Try it from another terminal in this folder
(Ctrl-C here stops the host):

  export TOKEN=$(npx berth token --role tenant-admin --tenant ${TENANT})
  export T=${tenantUrl}

  # Create a ticket: the auto-tagger tags it billing and urgent, the webhook notifier and the audit trail are told
  curl -s -X POST $T/tickets -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"title":"Urgent: invoice total is wrong","body":"Please refund the difference"}'

  # The webhook the notifier sent, as the egress entrypoint delivered it
  curl -s $T/inbox -H "authorization: Bearer $TOKEN"

  # A ticket with the panels plugins contribute (the audit trail's record among them)
  curl -s $T/tickets/<id from the first command> -H "authorization: Bearer $TOKEN"

  # Closing an urgent ticket without a reason is refused by the close guard; with one it closes
  curl -s -X POST $T/tickets/<id>/close -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{}'
  curl -s -X POST $T/tickets/<id>/close -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"reason":"Refund issued to the customer"}'

  # Installations, their grants, egress counts and logs
  curl -s $T/installations -H "authorization: Bearer $TOKEN"
  curl -s $T/installations/audit-trail/logs -H "authorization: Bearer $TOKEN"

  # The host's hook points and capabilities, as JSON Schemas and consent texts
  curl -s ${BASE}/v1/hook-points -H "authorization: Bearer $TOKEN"
  curl -s ${BASE}/v1/capabilities -H "authorization: Bearer $TOKEN"
`);
}

/** The wrangler process once started, so a failure can stop it rather than leave it holding the port. */
let host;

function fail(message) {
  console.error(`error: ${message}`);
  // wrangler stops its workerd on SIGTERM by itself; the signal is sent before this process exits.
  if (host !== undefined && host.exitCode === null) host.kill("SIGTERM");
  process.exit(1);
}

await main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
