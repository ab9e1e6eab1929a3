const encoder = new TextEncoder();

/** Returns the lower-case hex SHA-256 digest of a string (as UTF-8) or of bytes. */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Returns the size of a string in UTF-8 bytes, the unit of every size limit. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * Returns JSON with object keys sorted at every level, so equal values always give
 * equal text whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * Returns the content digest of a validated manifest: the SHA-256 of its canonical
 * JSON. It covers every module digest but not the signature, so re-signing the same
 * manifest (a new expiry or a new key) keeps the content digest.
 */
export async function contentDigest(manifest: object): Promise<string> {
  return sha256Hex(canonicalJson(manifest));
}
