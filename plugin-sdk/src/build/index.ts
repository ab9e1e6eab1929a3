/**
 * Building and signing plugin projects, for the `berth` CLI and scripts.
 *
 * @module
 */
export { buildPlugin, readModules, type BuildOptions, type BuildResult } from "./build.ts";
export { DIST, PROJECT_FILE, projectSchema, readProject, type Project } from "./project.ts";
export { readPackageFile, readSigningKey, signPlugin } from "./sign.ts";
