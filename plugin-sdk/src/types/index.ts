/**
 * TypeScript declarations from a host's hook point catalogue, for `berth types`.
 *
 * @module
 */
export { generateTypes, parseCatalogue, type Catalogue, type JsonSchema } from "./generate.ts";
