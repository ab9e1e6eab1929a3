/**
 * The `storage` capability's operations on one installation's key-value storage,
 * with the limits every operation is checked against.
 *
 * @module
 */
import { BerthError } from "@berth/plugin-sdk/errors";
import { utf8Length } from "@berth/plugin-sdk/package";

import type { TenantStore } from "./store.ts";

/** Storage limits of one installation. */
export const STORAGE_LIMITS = { keyLength: 512, valueBytes: 64 * 1024, totalBytes: 1024 * 1024, listMax: 1000 } as const;

/** One storage operation of the `storage` capability. */
export type StorageOperation =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: unknown }
  | { op: "delete"; key: string }
  | { op: "list"; prefix?: string; limit?: number };

/**
 * Runs one storage operation on the storage of installation `id` and returns its
 * result. Raises `ERR_STORAGE_INVALID` for a key, value or total size past
 * {@link STORAGE_LIMITS}.
 */
export function runStorageOperation(store: TenantStore, id: string, operation: StorageOperation): unknown {
  if (operation.op === "list") {
    const limit = Math.min(Math.max(1, Math.trunc(operation.limit ?? STORAGE_LIMITS.listMax)), STORAGE_LIMITS.listMax);
    const prefix = typeof operation.prefix === "string" ? operation.prefix : "";
    return store.storageList(id, prefix, limit).map((entry) => ({ key: entry.key, value: JSON.parse(entry.value) as unknown }));
  }

  const { key } = operation;
  if (typeof key !== "string" || key.length === 0 || key.length > STORAGE_LIMITS.keyLength) {
    throw new BerthError("ERR_STORAGE_INVALID", `storage keys must be strings of 1 to ${STORAGE_LIMITS.keyLength} characters`, { path: "key" });
  }
  if (operation.op === "get") {
    const value = store.storageGet(id, key);
    return value === undefined ? null : (JSON.parse(value) as unknown);
  }
  if (operation.op === "delete") return store.storageDelete(id, key);

  const encoded = JSON.stringify(operation.value);
  if (encoded === undefined) {
    throw new BerthError("ERR_STORAGE_INVALID", "storage values must be JSON values; undefined and functions cannot be stored", { path: "value" });
  }
  const bytes = utf8Length(encoded);
  if (bytes > STORAGE_LIMITS.valueBytes) {
    throw new BerthError("ERR_STORAGE_INVALID", `the value is ${bytes} bytes once encoded; at most ${STORAGE_LIMITS.valueBytes} are allowed`, { path: "value" });
  }
  const previous = store.storageGet(id, key);
  const used = store.storageBytes(id) - (previous === undefined ? 0 : utf8Length(key) + utf8Length(previous));
  if (used + utf8Length(key) + bytes > STORAGE_LIMITS.totalBytes) {
    throw new BerthError("ERR_STORAGE_INVALID", `the installation's storage quota of ${STORAGE_LIMITS.totalBytes} bytes is used up; delete keys first`, {
      path: "value",
    });
  }
  store.storagePut(id, key, encoded);
  return null;
}
