/**
 * Grants: a tenant's consent to the capabilities a manifest requests, possibly
 * narrower than the request. Checked at install, upgrade and grant change.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { HOST_PATTERN, LIMITS, type Manifest } from "@berth/plugin-sdk/package";
import * as v from "valibot";

import { patternCovered } from "./catalogue.ts";

/** The grant of one capability. `hosts` applies to `network` only. */
export const grantSchema = v.strictObject({
  hosts: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.maxLength(261), v.regex(HOST_PATTERN, "must be a host name such as api.example.com"))),
      v.maxLength(LIMITS.hosts),
    ),
  ),
});

/** Grants of one installation, by capability name. */
export const grantsSchema = v.pipe(
  v.record(v.pipe(v.string(), v.maxLength(64)), grantSchema),
  v.check((grants) => Object.keys(grants).length <= LIMITS.entries, `must have at most ${LIMITS.entries} entries`),
);

/** Grants of one installation, by capability name. */
export type Grants = v.InferOutput<typeof grantsSchema>;

/**
 * Checks grants against a manifest's requests and returns them normalized: a
 * network grant without hosts gets the requested hosts. Raises
 * `ERR_GRANT_NOT_REQUESTED`, `ERR_GRANT_WIDER_THAN_REQUEST` or
 * `ERR_GRANT_REQUIRED_MISSING`.
 */
export function resolveGrants(manifest: Manifest, grants: Grants): Grants {
  const resolved: Grants = {};

  for (const [name, grant] of Object.entries(grants)) {
    // Own keys only: a grant named toString must not find Object.prototype.toString.
    const request = Object.hasOwn(manifest.capabilities, name) ? manifest.capabilities[name] : undefined;
    if (request === undefined) {
      throw new BerthError("ERR_GRANT_NOT_REQUESTED", `grants.${name}: ${manifest.name}@${manifest.version} does not request ${name}; remove the grant`, {
        path: `grants.${name}`,
      });
    }

    if (request.hosts === undefined) {
      if (grant.hosts !== undefined) {
        throw new BerthError("ERR_GRANT_WIDER_THAN_REQUEST", `grants.${name}.hosts: ${name} does not take hosts`, { path: `grants.${name}.hosts` });
      }
      resolved[name] = {};
      continue;
    }

    const hosts = grant.hosts ?? request.hosts;
    for (const host of hosts) {
      if (!patternCovered(host, request.hosts)) {
        throw new BerthError(
          "ERR_GRANT_WIDER_THAN_REQUEST",
          `grants.${name}.hosts: "${host}" is not among the requested hosts (${request.hosts.join(", ")}); grant only those or fewer`,
          { path: `grants.${name}.hosts` },
        );
      }
    }
    resolved[name] = { hosts: [...new Set(hosts)] };
  }

  const missing = Object.entries(manifest.capabilities)
    .filter(([name, request]) => request.optional !== true && resolved[name] === undefined)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new BerthError(
      "ERR_GRANT_REQUIRED_MISSING",
      `${manifest.name}@${manifest.version} requires ${missing.join(", ")}; grant ${missing.length === 1 ? "it" : "them"} to install`,
      { path: `grants.${missing[0]}` },
    );
  }
  return resolved;
}

/**
 * Returns the grants an upgrade keeps without new consent: grants of capabilities
 * the new version still requests, with network hosts narrowed to what both the
 * grant and the new request cover.
 */
export function keptGrants(grants: Grants, next: Manifest): Grants {
  const kept: Grants = {};
  for (const [name, grant] of Object.entries(grants)) {
    const request = Object.hasOwn(next.capabilities, name) ? next.capabilities[name] : undefined;
    if (request === undefined) continue;
    if (request.hosts === undefined || grant.hosts === undefined) {
      kept[name] = grant;
      continue;
    }
    // The intersection: granted hosts the new request covers, and requested hosts the grant covers.
    const requested = request.hosts;
    const granted = grant.hosts;
    const hosts = [
      ...granted.filter((host) => patternCovered(host, requested)),
      ...requested.filter((host) => patternCovered(host, granted)),
    ];
    if (hosts.length > 0) kept[name] = { hosts: [...new Set(hosts)] };
  }
  return kept;
}

// Separates a capability from one of its hosts in an ask; capability names contain ":" but no space.
const ASK_SEPARATOR = ": ";

/**
 * Lists what a new version asks for beyond what the tenant consented to for the
 * current one: a capability the old version did not request, a capability that
 * becomes required but was not granted, or network hosts the old request did not cover.
 */
export function consentNeeded(current: Manifest, grants: Grants, next: Manifest): string[] {
  const asks: string[] = [];
  for (const [name, request] of Object.entries(next.capabilities)) {
    const before = Object.hasOwn(current.capabilities, name) ? current.capabilities[name] : undefined;
    if (before === undefined) {
      asks.push(name);
    } else if (request.optional !== true && grants[name] === undefined) {
      asks.push(name);
    } else if (request.hosts !== undefined && grants[name] !== undefined) {
      for (const host of request.hosts) {
        if (!patternCovered(host, before.hosts ?? [])) asks.push(`${name}${ASK_SEPARATOR}${host}`);
      }
    }
  }
  return asks;
}

/** Returns the grants that accepting a pending upgrade gives: the kept grants plus everything asked. */
export function acceptedGrants(grants: Grants, next: Manifest, asks: readonly string[]): Grants {
  const accepted = keptGrants(grants, next);
  for (const ask of asks) {
    const [name = ask, host] = ask.split(ASK_SEPARATOR);
    const requestedHosts = next.capabilities[name]?.hosts;
    if (host !== undefined) accepted[name] = { hosts: [...(accepted[name]?.hosts ?? []), host] };
    else accepted[name] = requestedHosts === undefined ? {} : { hosts: requestedHosts };
  }
  return accepted;
}
