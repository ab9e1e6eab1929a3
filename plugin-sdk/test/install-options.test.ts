import { describe, expect, it } from "vitest";

import { BerthError } from "../src/errors.ts";
import { CliError } from "../src/cli/errors.ts";
import { coerceConfig, parseConfigJson, parseConfigPairs, parseGrants, parsePluginSpec } from "../src/cli/install-options.ts";

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof BerthError || error instanceof CliError) return error.code;
    throw error;
  }
  return undefined;
}

describe("parsePluginSpec", () => {
  it.each([
    ["counter", { name: "counter", version: undefined }],
    ["counter@1.2.0", { name: "counter", version: "1.2.0" }],
    ["counter@>=1.0.0 <2.0.0", { name: "counter", version: ">=1.0.0 <2.0.0" }],
  ])("parses %s", (spec, expected) => {
    expect(parsePluginSpec(spec)).toEqual(expected);
  });

  it.each(["Counter", "@1.0.0", "counter@", "counter@  "])("rejects %j", (spec) => {
    expect(codeOf(() => parsePluginSpec(spec))).toBe("ERR_CLI_USAGE");
  });
});

describe("parseGrants", () => {
  it("parses each grant form", () => {
    expect(parseGrants(["storage", "tickets:read", "network=a.example.com,*.b.example.com:8443", "other=x.example.com"])).toEqual({
      storage: {},
      "tickets:read": {},
      network: { hosts: ["a.example.com", "*.b.example.com:8443"] },
      other: { hosts: ["x.example.com"] },
    });
  });

  it("network alone takes no hosts", () => {
    expect(parseGrants(["network"])).toEqual({ network: {} });
  });

  it.each([["storage", "storage"], ["Storage"], ["network=,"], ["=a.example.com"]])("rejects %j", (...values) => {
    expect(codeOf(() => parseGrants(values))).toBe("ERR_CLI_USAGE");
  });
});

describe("config parsing", () => {
  const fields = {
    name: { type: "string" },
    limit: { type: "number" },
    strict: { type: "boolean" },
    tags: { type: "string[]" },
  } as const;

  it("coerces each field type", () => {
    const pairs = parseConfigPairs(["name=", "limit=-3e2", "strict=false", "tags=a, b,,c"]);

    expect(coerceConfig(pairs, fields, "p@1.0.0")).toEqual({ name: "", limit: -300, strict: false, tags: ["a", "b", "c"] });
  });

  it.each([
    ["limit=ten", "ERR_CONFIG_INVALID"],
    ["limit=", "ERR_CONFIG_INVALID"],
    ["limit=Infinity", "ERR_CONFIG_INVALID"],
    ["strict=yes", "ERR_CONFIG_INVALID"],
    ["missing=1", "ERR_CONFIG_INVALID"],
    ["toString=1", "ERR_CONFIG_INVALID"],
  ])("rejects %s", (pair, code) => {
    expect(codeOf(() => coerceConfig(parseConfigPairs([pair]), fields, "p@1.0.0"))).toBe(code);
  });

  it("rejects a repeated scalar", () => {
    expect(codeOf(() => coerceConfig(parseConfigPairs(["limit=1", "limit=2"]), fields, "p@1.0.0"))).toBe("ERR_CLI_USAGE");
  });

  it("rejects a pair without a key", () => {
    expect(codeOf(() => parseConfigPairs(["=1"]))).toBe("ERR_CLI_USAGE");
    expect(codeOf(() => parseConfigPairs(["novalue"]))).toBe("ERR_CLI_USAGE");
  });

  it("parses config JSON objects only", () => {
    expect(parseConfigJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseConfigJson(undefined)).toEqual({});
    expect(codeOf(() => parseConfigJson("[1]"))).toBe("ERR_CLI_USAGE");
    expect(codeOf(() => parseConfigJson("null"))).toBe("ERR_CLI_USAGE");
    expect(codeOf(() => parseConfigJson("{"))).toBe("ERR_CLI_USAGE");
  });
});
