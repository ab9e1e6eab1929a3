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
