// Packs a list of PlanItems into the flat arguments of the addon's plan() call: one Float64Array
// row of 9 numbers per item, and the keys, IVs and tags concatenated (each distinct key once).
import { CryptoTensorsError } from "../errors.js";
import type { DecryptRequest, PlanItem } from "./backend.js";
import { TAG_LENGTH } from "../crypto/algorithms.js";
import { checkDecryptRequest, checkReadRange } from "./validate.js";

/** Algorithm numbers of the addon (native/aead.h AeadAlgorithm). */
export const ALGORITHM_IDS = { aes128gcm: 0, aes256gcm: 1, chacha20poly1305: 2 } as const;

/** Numbers per row of the plan table (native/file-handle.cc Plan). */
export const PLAN_FIELDS = 9;

export interface PlanTable {
  table: Float64Array;
  keys: Uint8Array;
  ivs: Uint8Array;
  tags: Uint8Array;
  dests: Uint8Array[];
}

/**
 * Validates every item against a file of `fileSize` bytes (the same checks as readInto and
 * decryptInto) and packs them for the addon.
 *
 * @example
 * ```ts
 * const { table, keys, ivs, tags, dests } = packPlan(file.size, [{ kind: "read", offset: 8, length: 4, dest }]);
 * ```
 */
export function packPlan(fileSize: number, items: readonly PlanItem[]): PlanTable {
  if (!Array.isArray(items)) throw new TypeError("items must be an array of plan items");
  const table = new Float64Array(items.length * PLAN_FIELDS);
  const keyOffsets = new Map<Uint8Array, number>();
  let keyBytes = 0;
  let tagBytes = 0;
  const chunks: number[] = [];
  for (const item of items) {
    if (item.kind === "read") {
      checkReadRange(fileSize, item.offset, item.length, item.dest);
      chunks.push(0);
    } else if (item.kind === "decrypt") {
      chunks.push(checkDecryptRequest(fileSize, item.request, item.dest));
      if (!keyOffsets.has(item.request.key)) {
        keyOffsets.set(item.request.key, keyBytes);
        keyBytes += item.request.key.length;
      }
    } else {
      throw new TypeError(`plan items must have kind "read" or "decrypt"`);
    }
  }
  for (const count of chunks) tagBytes += count * TAG_LENGTH;
  const keys = new Uint8Array(keyBytes);
  for (const [key, offset] of keyOffsets) keys.set(key, offset);
  const ivs = new Uint8Array(items.length * 12);
  const tags = new Uint8Array(tagBytes);
  const dests: Uint8Array[] = [];
  let tagOffset = 0;
  items.forEach((item, i) => {
    const row = i * PLAN_FIELDS;
    dests.push(item.dest);
    // Written field by field (the table is zero-filled): no temporary array per row.
    if (item.kind === "read") {
      table[row + 2] = item.offset;
      table[row + 3] = item.length;
      return;
    }
    const r: DecryptRequest = item.request;
    ivs.set(r.baseIv.subarray(0, 12), i * 12);
    const covered = (chunks[i] as number) * TAG_LENGTH;
    tags.set(r.tags.subarray(0, covered), tagOffset);
    table[row] = 1;
    table[row + 1] = ALGORITHM_IDS[r.algorithm];
    table[row + 2] = r.fileOffset;
    table[row + 3] = r.length;
    table[row + 4] = r.chunkSize;
    table[row + 5] = r.firstChunk;
    table[row + 6] = keyOffsets.get(r.key) as number;
    table[row + 7] = i * 12;
    table[row + 8] = tagOffset;
    tagOffset += covered;
  });
  return { table, keys, ivs, tags, dests };
}

/**
 * The error of a failed plan item, naming it by its label.
 *
 * @example
 * ```ts
 * throw labelled(error, items[failedIndex]?.label);
 * ```
 */
export function labelled(error: CryptoTensorsError, label: string | undefined): CryptoTensorsError {
  if (label === undefined) return error;
  return new CryptoTensorsError(error.code, `${JSON.stringify(label)}: ${error.message}`, {
    cause: error.cause,
  });
}
