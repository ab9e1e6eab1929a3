import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildCli, makeTempDir, runBerth, type RunResult } from "./helpers/cli.ts";

// One project is created, built and signed once; each test then checks one step
// or verifies a changed copy of the signed package.
let temp: { dir: string; remove: () => Promise<void> };
let cwd: string;
const steps: Record<"init" | "keygen" | "build" | "sign", RunResult | undefined> = { init: undefined, keygen: undefined, build: undefined, sign: undefined };

beforeAll(async () => {
  await buildCli();
  temp = await makeTempDir("berth-cli-package");
  cwd = temp.dir;
  steps.init = await runBerth(["init", "counter", "--publisher", "acme-labs"], { cwd });
  steps.keygen = await runBerth(["keygen", "--publisher", "acme-labs", "--kid", "acme-labs-1"], { cwd });
  steps.build = await runBerth(["build", "counter"], { cwd });
  steps.sign = await runBerth(["sign", "counter", "--key", "acme-labs.private.json"], { cwd });
});

afterAll(async () => {
  await temp?.remove();
});

async function readPackage(): Promise<{ manifest: string; modules: Record<string, string> }> {
  return JSON.parse(await readFile(join(cwd, "counter/dist/package.berth.json"), "utf8"));
}

/** Writes a changed copy of the signed package and returns its path. */
async function writeVariant(name: string, change: (pkg: { manifest: string; modules: Record<string, string> }) => void): Promise<string> {
  const pkg = await readPackage();
  change(pkg);
  const path = join(cwd, `${name}.berth.json`);
  await writeFile(path, JSON.stringify(pkg));
  return path;
}

describe("berth build, sign and verify", () => {
  it("build writes module and manifest", async () => {
    expect(steps.init?.code).toBe(0);
    expect(steps.keygen?.code).toBe(0);
    expect(steps.build?.stderr).toBe("");
    expect(steps.build?.code).toBe(0);
    expect(steps.build?.stdout).toMatch(/^built counter@0\.1\.0 into counter\/dist\n/);
    expect(steps.build?.stdout).toMatch(/module {3}index\.js {2}\d+ bytes {2}sha256 [0-9a-f]{64}\n/);
    expect(steps.build?.stdout).toContain("manifest counter/dist/manifest.json");

    const manifest = JSON.parse(await readFile(join(cwd, "counter/dist/manifest.json"), "utf8"));
    expect(manifest.main).toBe("index.js");
    expect(manifest.publisher).toBe("acme-labs");
    const bundle = await readFile(join(cwd, "counter/dist/index.js"), "utf8");
    expect(bundle).toContain('from "cloudflare:workers"');
    expect(bundle).not.toContain("@berth/plugin-sdk");
  });

  it("sign writes the package", async () => {
    expect(steps.sign?.stderr).toBe("");
    expect(steps.sign?.code).toBe(0);
    expect(steps.sign?.stdout).toMatch(/^signed counter@0\.1\.0 with key acme-labs-1 \(publisher acme-labs\)\n/);
    expect(steps.sign?.stdout).toContain("package counter/dist/package.berth.json");
    expect(steps.sign?.stdout).toMatch(/digest {2}sha256 [0-9a-f]{64}\n/);
    expect(steps.sign?.stdout).toContain("expires never");

    const pkg = await readPackage();
    expect(pkg.manifest.split(".")).toHaveLength(3);
    expect(Object.keys(pkg.modules)).toEqual(["index.js"]);
  });

  it("verify accepts the signed package", async () => {
    const result = await runBerth(["verify", "counter", "--trust", "acme-labs.public.json"], { cwd });

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verified counter@0\.1\.0 from publisher acme-labs\n/);
    expect(result.stdout).toContain("key      acme-labs-1");
    expect(result.stdout).toContain("host     0.1.0 is in hostRange ^0.1.0");
    expect(result.stdout).toContain("expires never");
  });

  it("verify digest matches sign digest", async () => {
    const verified = await runBerth(["verify", "counter/dist/package.berth.json", "--trust", "acme-labs.public.json"], { cwd });
    const signedDigest = /digest {2}sha256 ([0-9a-f]{64})/.exec(steps.sign?.stdout ?? "")?.[1];

    expect(verified.code).toBe(0);
    expect(signedDigest).toBeDefined();
    expect(verified.stdout).toContain(`digest   sha256 ${signedDigest}`);
  });

  it("verify accepts a trust file array", async () => {
    const entry = JSON.parse(await readFile(join(cwd, "acme-labs.public.json"), "utf8"));
    await writeFile(join(cwd, "trusted-keys.json"), JSON.stringify([entry]));

    const result = await runBerth(["verify", "counter", "--trust", "trusted-keys.json"], { cwd });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("verified counter@0.1.0");
  });

  it("verify rejects a tampered module", async () => {
    const path = await writeVariant("tampered-module", (pkg) => {
      pkg.modules["index.js"] += "\nglobalThis.injected = true;\n";
    });

    const result = await runBerth(["verify", path, "--trust", "acme-labs.public.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe('error ERR_MODULE_DIGEST_MISMATCH: module "index.js" does not match its signed SHA-256 digest; rebuild and sign again\n');
  });

  it("verify rejects an untrusted key", async () => {
    const other = join(cwd, "other-keys");
    await mkdir(other);
    const keygen = await runBerth(["keygen", "--publisher", "acme-labs", "--kid", "acme-labs-other", "--out", other], { cwd });
    expect(keygen.code).toBe(0);

    const result = await runBerth(["verify", "counter", "--trust", join(other, "acme-labs.public.json")], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe('error ERR_TRUST_UNKNOWN_KEY: no trusted publisher key has key ID "acme-labs-1"; ask the host operator to trust it\n');
  });

  it("verify rejects a changed manifest", async () => {
    const path = await writeVariant("changed-manifest", (pkg) => {
      const [header, payload, signature] = pkg.manifest.split(".") as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      claims.manifest.description = "changed after signing";
      pkg.manifest = [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
    });

    const result = await runBerth(["verify", path, "--trust", "acme-labs.public.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_JWS_SIGNATURE_INVALID: /);
  });

  it("verify rejects an undeclared module", async () => {
    const path = await writeVariant("extra-module", (pkg) => {
      pkg.modules["extra.js"] = "export {};";
    });

    const result = await runBerth(["verify", path, "--trust", "acme-labs.public.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_MODULE_UNDECLARED: module "extra\.js"/);
  });

  it("verify checks the host version", async () => {
    const result = await runBerth(["verify", "counter", "--trust", "acme-labs.public.json", "--host-version", "1.0.0"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_HOST_RANGE_UNSATISFIED: counter@0.1.0 supports hosts ^0.1.0, but this host is version 1.0.0\n");
  });

  it("verify rejects a private key as trust", async () => {
    const result = await runBerth(["verify", "counter", "--trust", "acme-labs.private.json"], { cwd });
    const secret = JSON.parse(await readFile(join(cwd, "acme-labs.private.json"), "utf8"));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_TRUST_KEY_INVALID: trustedKeys\.0\.jwk must be a public key/);
    expect(result.stderr).not.toContain(secret.jwk.d);
  });

  it("verify reports a missing package", async () => {
    const result = await runBerth(["verify", "nowhere.berth.json", "--trust", "acme-labs.public.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_PACKAGE_INVALID: cannot read the package nowhere.berth.json; run berth build and berth sign first\n");
  });

  it("sign rejects another publisher's key", async () => {
    const keygen = await runBerth(["keygen", "--publisher", "globex", "--kid", "globex-1"], { cwd });
    expect(keygen.code).toBe(0);

    const result = await runBerth(["sign", "counter", "--key", "globex.private.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_PUBLISHER_MISMATCH: berth\.json names publisher "acme-labs" but key "globex-1" belongs to publisher "globex"/);
  });

  it("sign sets an expiry", async () => {
    const copy = join(cwd, "expiring");
    expect((await runBerth(["init", copy, "--publisher", "acme-labs"], { cwd })).code).toBe(0);
    expect((await runBerth(["build", copy], { cwd })).code).toBe(0);

    const before = Date.now();
    const result = await runBerth(["sign", copy, "--key", "acme-labs.private.json", "--expires-in-days", "2"], { cwd });
    const expires = /expires (\S+)/.exec(result.stdout)?.[1] ?? "";

    expect(result.code).toBe(0);
    expect(Date.parse(expires) - before).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(Date.parse(expires) - before).toBeLessThan(2 * 86_400_000 + 60_000);
  });

  it("sign before build fails clearly", async () => {
    const fresh = join(cwd, "unbuilt");
    expect((await runBerth(["init", fresh, "--publisher", "acme-labs"], { cwd })).code).toBe(0);

    const result = await runBerth(["sign", fresh, "--key", "acme-labs.private.json"], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_MANIFEST_INVALID: the built manifest unbuilt/dist/manifest.json is missing or not valid JSON; run berth build first\n");
  });

  it("build reports a syntax error", async () => {
    const broken = join(cwd, "broken");
    expect((await runBerth(["init", broken], { cwd })).code).toBe(0);
    await writeFile(join(broken, "src/index.ts"), "export const x = ;\n");

    const result = await runBerth(["build", broken], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error ERR_PACKAGE_INVALID: esbuild could not bundle /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("build rejects an unknown berth.json key", async () => {
    const odd = join(cwd, "odd");
    expect((await runBerth(["init", odd], { cwd })).code).toBe(0);
    const project = JSON.parse(await readFile(join(odd, "berth.json"), "utf8"));
    await writeFile(join(odd, "berth.json"), JSON.stringify({ ...project, entry: "src/main.ts" }));

    const result = await runBerth(["build", odd], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error ERR_MANIFEST_UNKNOWN_KEY: berth.json.entry is not a known key; remove it or check its spelling\n");
  });
});
