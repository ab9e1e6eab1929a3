/**
 * `berth publish`: uploads a signed package to a host's registry.
 *
 * @module
 */
import type { Command } from "commander";

import { CliError } from "./errors.ts";
import { connectHost, hostOption, requestHost, tokenOption } from "./host-client.ts";
import { displayPath, print } from "./output.ts";
import { PACKAGE_ARGUMENT_HELP, readPackageArgument } from "./package-file.ts";

interface PublishOptions {
  host: string;
  token?: string;
}

/** Response body of `POST /v1/plugins`. */
interface PublishResponse {
  /** `refreshed` is set when the host replaced the stored signature of the same content with this newer one. */
  published: { name: string; version: string; digest: string; created: boolean; refreshed: boolean };
}

/** Registers `berth publish`. */
export function registerPublish(program: Command): void {
  program
    .command("publish")
    .description("upload a signed package to a host's registry (POST /v1/plugins)")
    .argument("[target]", PACKAGE_ARGUMENT_HELP, ".")
    .addOption(hostOption())
    .addOption(tokenOption())
    .action(async (target: string, options: PublishOptions) => {
      const connection = connectHost(options);
      const hostUrl = connection.url;
      const { path, json } = await readPackageArgument(target);
      const response = await requestHost(connection, "POST", "/v1/plugins", json);
      const { published } = publishResponse(response.body);

      const host = hostUrl.href.replace(/\/$/, "");
      print(
        publishSummary(published, host),
        `  package ${displayPath(path)}`,
        `  digest  sha256 ${published.digest}`,
      );
    });
}

function publishSummary(published: PublishResponse["published"], host: string): string {
  const id = `${published.name}@${published.version}`;
  if (published.created) return `published ${id} to ${host}`;
  if (published.refreshed) return `${id} was already published to ${host} with the same content; the host replaced its stored signature with this newer one`;
  return `${id} was already published to ${host} with the same content; nothing changed`;
}

function publishResponse(body: unknown): PublishResponse {
  const published = (body as Partial<PublishResponse> | null)?.published;
  if (typeof published?.name !== "string" || typeof published.version !== "string" || typeof published.digest !== "string") {
    throw new CliError("ERR_CLI_HOST_RESPONSE_INVALID", "the host accepted the package but its response lacks published.name, version or digest");
  }
  return { published: { ...published, created: published.created !== false, refreshed: published.refreshed === true } };
}
