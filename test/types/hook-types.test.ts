import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generateTypes, parseCatalogue } from "../../plugin-sdk/src/types/index.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
let dir: string;
let generated: string;

/** Type-checks one handler file against the generated declarations; returns tsc's exit code and output. */
async function typecheck(name: string, source: string): Promise<{ code: number; output: string }> {
  await writeFile(join(dir, name), source);
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "ES2023",
      module: "ESNext",
      moduleResolution: "Bundler",
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
      baseUrl: root,
      paths: { "@berth/plugin-sdk": [join(root, "plugin-sdk/src/index.ts")] },
    },
    files: [join(dir, name)],
  };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify(config));
  try {
    const { stdout } = await run(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string };
    return { code: failure.code, output: failure.stdout };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-types-"));
  const catalogue = parseCatalogue(JSON.parse(await readFile(join(root, "manifests/help-desk.hook-points.json"), "utf8")));
  generated = generateTypes(catalogue, "manifests/help-desk.hook-points.json");
  await writeFile(join(dir, "host-types.ts"), generated);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("berth types output", () => {
  it("type-checks handlers with the right payloads", async () => {
    const result = await typecheck(
      "good.ts",
      `import type { HookHandler } from "./host-types.ts";
       export const tag: HookHandler<"ticket.beforeCreate"> = (draft) => ({ ...draft, tags: [...draft.tags, "seen"] });
       export const guard: HookHandler<"ticket.beforeClose"> = ({ ticket }) =>
         ticket.priority === "urgent" ? { allow: false, reason: "urgent" } : { allow: true };
       export const panels: HookHandler<"ticket.panels"> = async (ticket) => [{ title: "Status", body: ticket.status }];
       export const created: HookHandler<"ticket.created"> = async (ticket) => { console.log(ticket.id); };
      `,
    );

    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("rejects a handler with a wrong payload type", async () => {
    const result = await typecheck(
      "wrong-payload.ts",
      `import type { HookHandler } from "./host-types.ts";
       export const tag: HookHandler<"ticket.beforeCreate"> = (draft: { title: number }) => draft;
      `,
    );

    expect(result.code).not.toBe(0);
    expect(result.output).toContain("wrong-payload.ts");
    expect(result.output).toMatch(/TS2322/);
  });

  it("rejects a decision without a reason", async () => {
    const result = await typecheck(
      "wrong-result.ts",
      `import type { HookHandler } from "./host-types.ts";
       export const guard: HookHandler<"ticket.beforeClose"> = () => ({ allow: false });
      `,
    );

    expect(result.code).not.toBe(0);
    expect(result.output).toContain("wrong-result.ts");
  });
});

describe("berth types on a hostile catalogue", () => {
  const point = { kind: "event", payload: { type: "object", properties: {} } };

  it.each(["x; export const pwn = 1; //", "ticket", "Ticket.created", "ticket.created\nexport const pwn = 1;"])("rejects the hook point name %j", (name) => {
    const parse = () => parseCatalogue({ hookPoints: [{ ...point, name }] });

    expect(parse).toThrow(expect.objectContaining({ code: "ERR_REQUEST_INVALID", path: "catalogue.hookPoints.0.name" }));
    expect(parse).toThrow(/is not a hook point name such as ticket\.created/);
  });

  it("keeps a description with */ inside its comment", async () => {
    const catalogue = parseCatalogue({ hookPoints: [{ ...point, name: "ticket.created", description: "ends here */ export const pwn = 1; /* and more" }] });
    const output = generateTypes(catalogue, "hostile.json");
    await writeFile(join(dir, "hostile-types.ts"), output);

    const result = await typecheck("hostile-use.ts", `import * as types from "./hostile-types.ts";\nexport const names: string[] = Object.keys(types);\n`);

    expect(output).not.toContain("ends here */");
    expect(output).not.toMatch(/^export const pwn/m);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("quotes property names that are not identifiers", () => {
    const payload = { type: "object", properties: { "a-b": { type: "string" }, "x; pwn: 1": { type: "number" } }, required: ["a-b"] };
    const output = generateTypes(parseCatalogue({ hookPoints: [{ ...point, name: "ticket.created", payload }] }), "keys.json");

    expect(output).toContain('  "a-b": string;');
    expect(output).toContain('  "x; pwn: 1"?: number;');
  });

  it("keeps a line break in the source path inside the header comment", () => {
    const output = generateTypes(parseCatalogue({ hookPoints: [] }), "a\nexport const pwn = 1;");

    expect(output).not.toMatch(/^export const pwn/m);
  });
});

describe("example plugins", async () => {
  const examples = (await readdir(join(root, "example-plugins"), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);

  it.each(examples)("%s uses the current berth types output", async (name) => {
    const committed = await readFile(join(root, "example-plugins", name, "src/host-types.ts"), "utf8");

    // When this fails, run: npx berth types --catalogue manifests/help-desk.hook-points.json --out example-plugins/<name>/src/host-types.ts
    expect(committed).toBe(generated);
  });

  it.each(examples)("%s type-checks with tsc --noEmit", async (name) => {
    const result = await run(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "example-plugins", name), "--noEmit"]).then(
      () => ({ code: 0, output: "" }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );

    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
