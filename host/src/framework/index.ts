/**
 * The Berth host framework: declare hook points and capabilities, define the host,
 * and export the framework's Durable Objects and entrypoints from your Worker.
 *
 * @module
 */
export { ROLES, TOKEN_AUDIENCE, TOKEN_ISSUER, requireRole, requireTenant, type Principal, type Role } from "./api/auth.ts";
export { createApi, pathParam, principalOf, tenantParam, tenantSchema, MAX_BODY_BYTES, type ApiOptions, type ApiRouter } from "./api/routes.ts";
export { errorResponse, jsonResponse, parseInput, readJson, readOptionalJson, statusFor } from "./api/http.ts";
export { NETWORK, STORAGE, defineCapability, hostMatches, type CapabilityDefinition } from "./capabilities/catalogue.ts";
export { BerthEgress, BerthLogTail, BerthStorage, CapabilityEntrypoint, tenantStub } from "./capabilities/entrypoints.ts";
export type { Grants } from "./capabilities/grants.ts";
export type { CapabilityProps } from "./capabilities/props.ts";
export type { BerthEnv } from "./env.ts";
export { defineHost, hostProfile, type Host, type HostOptions } from "./host.ts";
export { MAX_IN_FLIGHT, type CallRecord, type CollectOutcome, type DecisionOutcome, type EventOutcome, type FilterOutcome, type OutcomeOf } from "./hooks/dispatch.ts";
export {
  DEFAULT_HOOK_TIMEOUT_MS,
  MAX_HOOK_TIMEOUT_MS,
  defineHookPoint,
  type CollectHookPoint,
  type DecisionHookPoint,
  type EventHookPoint,
  type FilterHookPoint,
  type HookKind,
  type HookPoint,
} from "./hooks/hook-point.ts";
export { isolateId } from "./loader/plugin-loader.ts";
export { RegistryObject, type PackageRecord, type PluginSummary } from "./registry/registry-object.ts";
export { toPluginError, toResult, unwrap, type Result } from "./rpc.ts";
export type { Installation, InstallationState, InstallationView } from "./tenants/installation.ts";
export { TenantObject, type DispatchOptions, type InstallRequest, type InstallationChange } from "./tenants/tenant-object.ts";
