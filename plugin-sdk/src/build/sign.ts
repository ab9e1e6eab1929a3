/**
 * `berth sign`: signs a built manifest and writes the package that
 * `berth publish` sends.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import * as v from "valibot";

import { BerthError } from "../errors.ts";
import { issueToError } from "../package/issues.ts";
import { manifestSchema } from "../package/manifest.ts";
import { signManifest, type SignOptions, type SigningKey } from "../package/sign.ts";
import { SIGNING_ALGORITHMS } from "../package/trust.ts";
import type { Package } from "../package/verify.ts";
import { readModules } from "./build.ts";
import { DIST } from "./project.ts";

const privateKeyFile = v.object({
  kid: v.string(),
  alg: v.picklist(SIGNING_ALGORITHMS),
  jwk: v.looseObject({ kty: v.string(), d: v.string() }),
});

/** Reads a private key file written by `berth keygen`. Raises `ERR_TRUST_KEY_INVALID`. */
export async function readSigningKey(path: string): Promise<SigningKey> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new BerthError("ERR_TRUST_KEY_INVALID", `cannot read the private key ${path}; create one with berth keygen`, { cause: error });
  }
  if (typeof json === "object" && json !== null && "jwk" in json && typeof json.jwk === "object" && json.jwk !== null && !("d" in json.jwk)) {
    throw new BerthError("ERR_TRUST_KEY_INVALID", `${path} is a public key; sign with the .private.json file that berth keygen wrote beside it`, { path: "key.jwk.d" });
  }
  const parsed = v.safeParse(privateKeyFile, json);
  if (!parsed.success) throw issueToError(parsed.issues, { code: "ERR_TRUST_KEY_INVALID", prefix: "key", quoteReceived: false });
  return parsed.output as SigningKey;
}

/** Signs the built manifest in `outDir` and writes the package file; returns its path and contents. */
export async function signPlugin(outDir: string, key: SigningKey, options: SignOptions = {}): Promise<{ path: string; pkg: Package }> {
  const dir = resolve(outDir);
  const parsed = v.safeParse(manifestSchema, JSON.parse(await readFile(join(dir, DIST.manifest), "utf8")));
  if (!parsed.success) {
    throw issueToError(parsed.issues, { code: "ERR_MANIFEST_INVALID", unknownKeyCode: "ERR_MANIFEST_UNKNOWN_KEY", prefix: "manifest" });
  }
  const manifest = parsed.output;

  const pkg: Package = { manifest: await signManifest(manifest, key, options), modules: await readModules(dir, manifest) };
  const path = join(dir, DIST.package);
  await writeFile(path, `${JSON.stringify(pkg)}\n`);
  return { path, pkg };
}

/** Reads a signed package file. Raises `ERR_PACKAGE_INVALID`. */
export async function readPackageFile(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch (error) {
    throw new BerthError("ERR_PACKAGE_INVALID", `cannot read the package ${path}; run berth build and berth sign first`, { cause: error });
  }
}
