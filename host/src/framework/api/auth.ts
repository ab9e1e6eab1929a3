/**
 * Authentication of the HTTP API: every route but health needs a bearer token,
 * a JWT the host verifies with jose against its own public keys. Operators manage
 * the registry and the trust store, publishers publish, and tenant admins act on
 * their own tenant only.
 *
 * @module
 */
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from "@berth/plugin-sdk/auth";
import { BerthError } from "@berth/plugin-sdk/errors";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import * as v from "valibot";

/** The `iss` and `aud` of every API token, defined with the token minting in the SDK. */
export { TOKEN_AUDIENCE, TOKEN_ISSUER };


/** Roles a token may carry. */
export const ROLES = ["operator", "publisher", "tenant-admin"] as const;

/** One role. */
export type Role = (typeof ROLES)[number];

const claimsSchema = v.variant("role", [
  v.object({ sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)), role: v.literal("operator") }),
  v.object({ sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)), role: v.literal("publisher") }),
  v.object({ sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)), role: v.literal("tenant-admin"), tenant: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) }),
]);

/** Who sent a request, from a verified token. */
export type Principal = v.InferOutput<typeof claimsSchema>;

/** Largest accepted `Authorization` header, in characters; longer ones are refused unread. */
const MAX_TOKEN_LENGTH = 4_096;

/** Builds the verifier for a key set; call once at start-up. */
export function createAuthenticator(keys: JSONWebKeySet): (request: Request) => Promise<Principal> {
  const keySet = createLocalJWKSet(keys);

  return async function authenticate(request: Request): Promise<Principal> {
    const header = request.headers.get("authorization");
    if (header === null) {
      throw new BerthError("ERR_AUTH_REQUIRED", "send Authorization: Bearer <token>; mint a development token with berth token");
    }
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
    if (match === null || header.length > MAX_TOKEN_LENGTH) {
      throw new BerthError("ERR_AUTH_INVALID", "the Authorization header must be Bearer followed by a JWT");
    }

    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(match[1] as string, keySet, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ["Ed25519", "ES256"],
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      // The token itself never appears in the message.
      throw new BerthError("ERR_AUTH_INVALID", "the bearer token is invalid or expired; mint a new one", { cause: error });
    }

    const parsed = v.safeParse(claimsSchema, payload);
    if (!parsed.success) {
      throw new BerthError("ERR_AUTH_INVALID", `the bearer token must carry a role (${ROLES.join(", ")}) and, for tenant-admin, a tenant`);
    }
    return parsed.output;
  };
}

/** Raises `ERR_AUTH_FORBIDDEN` unless the principal has one of `roles`. */
export function requireRole(principal: Principal, ...roles: Role[]): void {
  if (roles.includes(principal.role)) return;
  throw new BerthError("ERR_AUTH_FORBIDDEN", `this route needs the role ${roles.join(" or ")}; the token has ${principal.role}`);
}

/** Raises `ERR_AUTH_FORBIDDEN` unless the principal may act on `tenant`: an operator, or that tenant's admin. */
export function requireTenant(principal: Principal, tenant: string): void {
  if (principal.role === "operator") return;
  if (principal.role === "tenant-admin" && principal.tenant === tenant) return;
  throw new BerthError("ERR_AUTH_FORBIDDEN", `the token may not act on tenant ${tenant}`, { path: "params.tenant" });
}
