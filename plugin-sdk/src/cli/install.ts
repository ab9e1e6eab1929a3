/**
 * `berth install NAME[@VERSION_OR_RANGE]`: installs a published plugin into a tenant.
 *
 * @module
 */
import type { Command } from "commander";
import semver from "semver";

import { BerthError } from "../errors.ts";
import type { Manifest } from "../package/manifest.ts";
import { CliError } from "./errors.ts";
import { connectHost, hostOption, requestHost, tokenOption, type HostConnection } from "./host-client.ts";
import { coerceConfig, parseConfigJson, parseConfigPairs, parseGrants, parsePluginSpec, type Grant } from "./install-options.ts";
import { print } from "./output.ts";

interface InstallOptions {
  host: string;
  token?: string;
  tenant: string;
  grant?: string[];
  config?: string[];
  configJson?: string;
  enable: boolean;
}

/** The parts of the host's installation view the output names. */
interface InstallationView {
  name: string;
  version: string;
  state: string;
  grants: Record<string, Grant>;
  config: Record<string, unknown>;
  hooks: string[];
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Registers `berth install`. */
export function registerInstall(program: Command): void {
  program
    .command("install")
    .description("install a published plugin into a tenant (POST /v1/tenants/:tenant/installations)")
    .argument("<plugin>", "NAME or NAME@VERSION_OR_RANGE, such as ticket-counter@^0.1.0; the greatest matching version is installed (default range: *)")
    .addOption(hostOption())
    .addOption(tokenOption())
    .requiredOption("--tenant <tenant>", "tenant ID to install into")
    .option("--grant <capability>", "grant a requested capability: storage, tickets:read, or network=a.example.com,b.example.com (network alone grants every requested host); repeat for each", collect)
    .option("--config <key=value>", "set a config field; numbers, true/false and comma-separated string[] values follow the plugin's declared types; repeat for each", collect)
    .option("--config-json <json>", "config as a JSON object; --config values override its fields")
    .option("--no-enable", "install without enabling the plugin")
    .action(async (spec: string, options: InstallOptions) => {
      await installPlugin(spec, options);
    });
}

async function installPlugin(spec: string, options: InstallOptions): Promise<void> {
  const host = connectHost(options);
  const plugin = parsePluginSpec(spec);
  const grants = parseGrants(options.grant ?? []);
  const pairs = parseConfigPairs(options.config ?? []);
  let config = parseConfigJson(options.configJson);
  let version = plugin.version ?? "*";

  // key=value pairs need the declared field types, so resolve the version first and
  // install exactly the version whose fields were read.
  if (pairs.length > 0) {
    const manifest = await fetchManifest(host, plugin.name, version);
    version = manifest.version;
    config = { ...config, ...coerceConfig(pairs, manifest.config, `${manifest.name}@${manifest.version}`) };
  }

  const tenantPath = `/v1/tenants/${encodeURIComponent(options.tenant)}/installations`;
  const response = await requestHost(host, "POST", tenantPath, { name: plugin.name, version, grants, config, enable: options.enable });
  const view = installationView(response.body);

  const grantNames = Object.entries(view.grants).map(([name, grant]) => (grant.hosts === undefined ? name : `${name} (${grant.hosts.join(", ")})`));
  const configKeys = Object.keys(view.config);
  print(
    `installed ${view.name}@${view.version} in tenant ${options.tenant} (state ${view.state})`,
    `  grants  ${grantNames.length === 0 ? "none" : grantNames.join(", ")}`,
    // Config may hold secrets such as webhook tokens, so only field names are shown.
    `  config  ${configKeys.length === 0 ? "none" : `${configKeys.join(", ")} (values not shown)`}`,
    `  hooks   ${view.hooks.length === 0 ? "none" : view.hooks.join(", ")}`,
  );
}

/**
 * Returns the manifest of the greatest published version matching `range`, the
 * same choice the host makes: an exact version first, else the greatest match.
 */
async function fetchManifest(host: HostConnection, name: string, range: string): Promise<Manifest> {
  const { body } = await requestHost(host, "GET", "/v1/plugins");
  const plugins = (body as { plugins?: { name: string; versions: string[] }[] }).plugins ?? [];
  const versions = plugins.find((candidate) => candidate.name === name)?.versions ?? [];
  if (versions.length === 0) {
    throw new BerthError("ERR_PLUGIN_NOT_FOUND", `no plugin named "${name}" is published; see GET /v1/plugins`, { path: "name" });
  }

  const version = versions.includes(range) ? range : semver.maxSatisfying(versions, range);
  if (version === null) {
    throw new BerthError("ERR_PLUGIN_NOT_FOUND", `no published version of ${name} matches "${range}"; published: ${versions.join(", ")}`, { path: "version" });
  }
  // An exact version needs no escaping in a path: semver allows only [0-9A-Za-z.+-].
  const record = await requestHost(host, "GET", `/v1/plugins/${name}/${version}`);
  const manifest = (record.body as { manifest?: Manifest }).manifest;
  if (manifest?.config === undefined) {
    throw new CliError("ERR_CLI_HOST_RESPONSE_INVALID", `GET /v1/plugins/${name}/${version} returned no manifest with config fields`);
  }
  return manifest;
}

function installationView(body: unknown): InstallationView {
  const view = (body as { installation?: Partial<InstallationView> } | null)?.installation;
  if (typeof view?.name !== "string" || typeof view.version !== "string") {
    throw new CliError("ERR_CLI_HOST_RESPONSE_INVALID", "the host accepted the install but its response lacks installation.name or version");
  }
  return { name: view.name, version: view.version, state: String(view.state), grants: view.grants ?? {}, config: view.config ?? {}, hooks: view.hooks ?? [] };
}
