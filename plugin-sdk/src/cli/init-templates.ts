/**
 * The files `berth init` writes: a plugin that counts new tickets in its storage.
 *
 * @module
 */
import { PROJECT_FILE } from "../build/project.ts";

/** Inputs of {@link scaffoldFiles}. */
export interface ScaffoldOptions {
  name: string;
  publisher: string;
  /** The `@berth/plugin-sdk` version the project depends on. */
  sdkVersion: string;
}

/** Host versions a new plugin supports. */
export const SCAFFOLD_HOST_RANGE = "^0.1.0";

/** Compatibility date of a new plugin; must not be newer than the host's runtime supports. */
export const SCAFFOLD_COMPATIBILITY_DATE = "2026-11-01";

/** Returns the scaffold's files by path relative to the project folder. */
export function scaffoldFiles(options: ScaffoldOptions): Record<string, string> {
  return {
    "package.json": json(packageJson(options)),
    [PROJECT_FILE]: json(berthJson(options)),
    "src/index.ts": indexSource(),
    "tsconfig.json": json(tsconfig()),
    ".gitignore": "dist/\nnode_modules/\n*.private.json\n",
  };
}

function packageJson({ name, sdkVersion }: ScaffoldOptions) {
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      build: "berth build",
      typecheck: "tsc --noEmit",
    },
    devDependencies: {
      "@berth/plugin-sdk": `^${sdkVersion}`,
      "@cloudflare/workers-types": "^5.20261117.1",
      typescript: "~5.9.3",
    },
  };
}

function berthJson({ name, publisher }: ScaffoldOptions) {
  return {
    name,
    version: "0.1.0",
    publisher,
    description: "Counts new tickets in the installation's storage.",
    hostRange: SCAFFOLD_HOST_RANGE,
    compatibilityDate: SCAFFOLD_COMPATIBILITY_DATE,
    capabilities: { storage: {} },
    hooks: {
      "ticket.created": { entrypoint: "Hooks", method: "ticketCreated" },
    },
  };
}

function tsconfig() {
  return {
    compilerOptions: {
      target: "ES2023",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: ["ES2023"],
      types: ["@cloudflare/workers-types"],
      strict: true,
      // berth build bundles with esbuild; tsc only checks types. The SDK ships
      // TypeScript sources that import each other with .ts extensions.
      noEmit: true,
      allowImportingTsExtensions: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
    },
    include: ["src"],
  };
}

function indexSource(): string {
  return `import { WorkerEntrypoint } from "cloudflare:workers";
import type { HookContext, PluginEnv } from "@berth/plugin-sdk";

/** The fields of a help desk ticket this plugin reads; the host sends the whole ticket. */
interface Ticket {
  id: string;
  title: string;
  tags: string[];
}

/**
 * The hook methods the host calls. berth.json names this class and each method
 * under "hooks"; the host passes the payload and a {@link HookContext}.
 */
export class Hooks extends WorkerEntrypoint<PluginEnv> {
  /** ticket.created (event): counts new tickets. Its return value is ignored. */
  async ticketCreated(ticket: Ticket, context: HookContext): Promise<void> {
    // STORAGE is present only when the tenant granted the storage capability.
    const storage = this.env.STORAGE;
    if (storage === undefined) return;

    const seen = (await storage.get<number>("ticketsSeen")) ?? 0;
    await storage.put("ticketsSeen", seen + 1);
    console.log(\`\${context.plugin} saw ticket \${ticket.id} in tenant \${context.tenant}\`);
  }
}
`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
