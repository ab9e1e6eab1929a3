/**
 * Property-based test of `POST /v1/plugins`: valid packages and manifests mutated
 * at random must get a coded 4xx response or be accepted, never a 500 and never an
 * uncaught error. Mutated manifests are signed again with the trusted test key,
 * so the checks after the signature run too.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { base64url } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

import { isErrorCode } from "@berth/plugin-sdk/errors";
import { rawJws } from "../../test/security/cases.ts";
import { api, makePackage, pluginSource } from "./helpers/api.ts";

/** Runs per property; four properties make 1,600 cases per run. */
const RUNS = 400;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SOURCE = pluginSource({ Hooks: 'async tag(draft) { return { ...draft, tags: [...draft.tags, "prop"] }; }' });

let baseManifest: Record<string, Json>;
let basePackage: { manifest: string; modules: Record<string, string> };

/** Keys that often trip object handling, beside random ones. */
const key = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "prototype", "then", "toString", "name", "version", "modules", "index.js", "main", "hooks"));

/** Values beside random JSON that sit on the edges of the schemas. */
const edgeValue = fc.constantFrom<Json>(
  "",
  "x".repeat(600),
  "../x.js",
  "1.0.0+build",
  ">=0.1.0 <2.0.0",
  "ticket.created",
  "network",
  -1,
  1e308,
  0.5,
  Number.MAX_SAFE_INTEGER,
  [],
  {},
  null,
  true,
);

const value: fc.Arbitrary<Json> = fc.oneof(fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>, edgeValue);

/** One change at one place in a JSON value. */
interface Mutation {
  /** Which of the value's places, modulo their number. */
  place: number;
  op: "replace" | "delete" | "add";
  key: string;
  value: Json;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  place: fc.nat(),
  op: fc.constantFrom<Mutation["op"]>("replace", "delete", "add"),
  key,
  value,
});

/** Returns every container and path in `root`, root first. */
function places(root: Json): { container: Json; path: string[] }[] {
  const found: { container: Json; path: string[] }[] = [];
  const visit = (node: Json, path: string[]) => {
    if (node === null || typeof node !== "object") return;
    found.push({ container: node, path });
    for (const [childKey, child] of Object.entries(node)) visit(child as Json, [...path, childKey]);
  };
  visit(root, []);
  return found;
}

/** Applies mutations to a deep copy of `root`; keys are set as own properties, so `__proto__` stays data. */
function mutate(root: Json, mutations: readonly Mutation[]): Json {
  let copy = structuredClone(root);
  for (const change of mutations) {
    const targets = places(copy);
    // Generated values can be shared between runs (constantFrom), so each use gets a copy.
    const inserted = structuredClone(change.value);
    if (targets.length === 0) {
      copy = inserted;
      continue;
    }
    const { container } = targets[change.place % targets.length] as { container: Json };
    const record = container as Record<string, Json>;
    const keys = Object.keys(record);
    const existing = keys.length === 0 ? change.key : (keys[change.place % keys.length] as string);
    if (change.op === "delete" && keys.length > 0) {
      // Not splice: an array given an own "constructor" key by an earlier mutation breaks it.
      if (Array.isArray(record) && /^\d+$/.test(existing)) removeIndex(record as unknown as Json[], Number(existing));
      else delete record[existing];
    } else {
      const name = change.op === "add" ? change.key : existing;
      Object.defineProperty(record, name, { value: inserted, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy;
}

/** Removes one element of an array in place, without looking up its constructor. */
function removeIndex(array: Json[], index: number): void {
  for (let position = index; position < array.length - 1; position += 1) array[position] = array[position + 1] as Json;
  array.length -= 1;
}

/** Sends a body and checks the response: accepted, or a coded 4xx error. */
async function expectCodedAnswer(body: unknown): Promise<void> {
  const response = await api("POST", "/v1/plugins", body);
  if (response.status === 200 || response.status === 201) {
    expect(response.body.published.name).toEqual(expect.any(String));
    return;
  }
  expect(response.status, JSON.stringify(response.body)).toBeGreaterThanOrEqual(400);
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
  expect(isErrorCode(response.body?.error?.code), JSON.stringify(response.body)).toBe(true);
  expect(typeof response.body.error.message).toBe("string");
}

beforeAll(async () => {
  basePackage = await makePackage({
    name: "prop-base",
    source: SOURCE,
    description: "the package the property test mutates",
    capabilities: { storage: {}, network: { hosts: ["api.example.com"] } },
    hooks: { "ticket.beforeCreate": { entrypoint: "Hooks", method: "tag", priority: 5 } },
    lifecycle: { entrypoint: "Hooks", events: ["install"] },
    config: { label: { type: "string", default: "x" } },
  });
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(basePackage.manifest.split(".")[1] as string))) as { manifest: Record<string, Json> };
  baseManifest = payload.manifest;
  const first = await api("POST", "/v1/plugins", basePackage);
  expect(first.status).toBe(201);
});

describe("POST /v1/plugins with mutated input", () => {
  it("answers mutated package bodies with coded errors", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        await expectCodedAnswer(mutate(basePackage as unknown as Json, mutations));
      }),
      { numRuns: RUNS },
    );
  });

  it("answers signed mutated manifests with coded errors", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), async (mutations, renamed) => {
        const manifest = mutate(baseManifest, mutations) as Record<string, Json>;
        // Half the runs take a fresh name, so a still-valid manifest is published instead of conflicting.
        if (renamed && manifest !== null && typeof manifest === "object" && !Array.isArray(manifest)) {
          Object.defineProperty(manifest, "name", { value: `prop-${crypto.randomUUID().slice(0, 8)}`, enumerable: true, writable: true, configurable: true });
        }
        // Signed with rawJws, because jose refuses to sign claims such as a non-string iss.
        const fields = manifest !== null && typeof manifest === "object" && !Array.isArray(manifest) ? manifest : {};
        const claims = { manifest, iss: fields["publisher"] ?? null, sub: `${String(fields["name"])}@${String(fields["version"])}`, iat: Math.floor(Date.now() / 1000) };
        const token = await rawJws({ alg: "Ed25519", kid: env.TEST_SIGNING_KEY.kid, typ: "berth-manifest+jwt" }, claims, env.TEST_SIGNING_KEY);
        await expectCodedAnswer({ manifest: token, modules: basePackage.modules });
      }),
      { numRuns: RUNS },
    );
  });

  it("answers mutated tokens and headers with coded errors", async () => {
    const segment = fc.constantFrom(0, 1, 2);
    const edit = fc.record({ segment, position: fc.nat(), text: fc.string({ maxLength: 4 }), remove: fc.nat({ max: 4 }) });
    const header = fc.dictionary(fc.constantFrom("alg", "kid", "typ", "jwk", "jku", "crit", "b64", "x5c", "zip", "cty", "extra"), value, { maxKeys: 4 });

    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.record({ edits: fc.array(edit, { minLength: 1, maxLength: 3 }) }), fc.record({ header })), async (change) => {
        let token = basePackage.manifest;
        if ("edits" in change) {
          for (const { segment: index, position, text, remove } of change.edits) {
            const parts = token.split(".");
            const part = parts[index] ?? "";
            const at = position % (part.length + 1);
            parts[index] = part.slice(0, at) + text + part.slice(at + remove);
            token = parts.join(".");
          }
        } else {
          const claims = JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1] as string))) as unknown;
          token = await rawJws({ alg: "Ed25519", kid: env.TEST_SIGNING_KEY.kid, typ: "berth-manifest+jwt", ...change.header }, claims, env.TEST_SIGNING_KEY);
        }
        await expectCodedAnswer({ manifest: token, modules: basePackage.modules });
      }),
      { numRuns: RUNS },
    );
  });

  it("answers arbitrary bodies with coded errors", async () => {
    const text = basePackage === undefined ? "" : JSON.stringify(basePackage);
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.nat().map((cut) => JSON.stringify(basePackage).slice(0, cut % (text.length + 1))),
      fc.jsonValue({ maxDepth: 4 }).map((json) => JSON.stringify(json)),
      fc.nat({ max: 80 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
      fc.record({ modules: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 }), { maxKeys: 5 }) }).map((pkg) =>
        JSON.stringify({ manifest: basePackage.manifest, ...pkg }),
      ),
    );

    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        await expectCodedAnswer(raw);
      }),
      { numRuns: RUNS },
    );
  });

  it("still serves the base package's content afterwards", async () => {
    const response = await api("GET", "/v1/plugins/prop-base/1.0.0");

    // A mutation that leaves the content as it was refreshes the stored token, so only the content is fixed.
    expect(response.status).toBe(200);
    expect(response.body.manifest).toEqual(baseManifest);
  });
});
