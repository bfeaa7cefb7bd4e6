// Argument checks shared by both backends, so that the native and the fallback path reject the
// same calls with the same errors, in the same order (FORMAT.md §3.3–§3.4).
import { types } from "node:util";
import { fail } from "../errors.js";
import type { AeadAlgorithm, DecryptRequest } from "./backend.js";

/** Key length in bytes per algorithm (FORMAT.md §3.1). */
export const AEAD_KEY_LENGTHS: Readonly<Record<AeadAlgorithm, number>> = {
  aes128gcm: 16,
  aes256gcm: 32,
  chacha20poly1305: 32,
};

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
const MAX_COUNTER = 0xffff_ffff;

function checkSafeInteger(value: unknown, name: string): number {
  if (typeof value !== "number")
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

function checkBytes(value: unknown, name: string): Uint8Array {
  if (!types.isUint8Array(value)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

/** A destination native threads may write to while JS runs: a resizable buffer could shrink under them. */
function checkDestination(value: unknown): Uint8Array {
  const dest = checkBytes(value, "dest");
  if ((dest.buffer as { resizable?: boolean }).resizable === true) {
    throw new TypeError(
      "dest must not be backed by a resizable ArrayBuffer (it could shrink during the read)",
    );
  }
  return dest;
}

/**
 * Checks a `readInto(offset, length, dest)` call against a file of `fileSize` bytes.
 *
 * @example
 * ```ts
 * checkReadRange(1024, 1000, 24, new Uint8Array(24)); // ok
 * checkReadRange(1024, 1000, 25, new Uint8Array(25)); // throws ERR_FILE_TRUNCATED
 * ```
 */
export function checkReadRange(
  fileSize: number,
  offset: unknown,
  length: unknown,
  dest: unknown,
): void {
  const start = checkSafeInteger(offset, "offset");
  const count = checkSafeInteger(length, "length");
  const target = checkDestination(dest);
  if (target.byteLength < count) {
    throw new RangeError(`dest holds ${target.byteLength} bytes but ${count} were requested`);
  }
  if (start + count > fileSize) {
    fail(
      "ERR_FILE_TRUNCATED",
      `range [${start}, ${start + count}) runs past the end of the file (${fileSize} bytes)`,
    );
  }
}

/**
 * Number of chunks (and 16-byte tags) a request covers: 1 for whole (v1) ranges and for empty
 * chunked ranges (an empty v2 tensor is one seal of the empty string), else ceil(length / chunkSize).
 *
 * @example
 * ```ts
 * coveredChunks(10, 4); // 3
 * coveredChunks(0, 4);  // 1
 * ```
 */
export function coveredChunks(length: number, chunkSize: number): number {
  if (chunkSize === 0 || length === 0) return 1;
  return Math.ceil(length / chunkSize);
}

/**
 * Checks a decrypt request against a file of `fileSize` bytes and returns its chunk count.
 * API misuse throws TypeError/RangeError; data-dependent problems throw CryptoTensorsError
 * (ERR_INVALID_KEY_LENGTH, ERR_INVALID_IV_LENGTH, ERR_FILE_TRUNCATED, ERR_COUNTER_OVERFLOW).
 *
 * @example
 * ```ts
 * const chunks = checkDecryptRequest(file.size, request, dest);
 * ```
 */
export function checkDecryptRequest(fileSize: number, request: unknown, dest: unknown): number {
  if (typeof request !== "object" || request === null)
    throw new TypeError("request must be an object");
  const r = request as Partial<DecryptRequest>;
  if (typeof r.algorithm !== "string" || !Object.hasOwn(AEAD_KEY_LENGTHS, r.algorithm)) {
    throw new TypeError(
      `request.algorithm must be one of ${Object.keys(AEAD_KEY_LENGTHS).join(", ")}`,
    );
  }
  const key = checkBytes(r.key, "request.key");
  const fileOffset = checkSafeInteger(r.fileOffset, "request.fileOffset");
  const length = checkSafeInteger(r.length, "request.length");
  const chunkSize = checkSafeInteger(r.chunkSize, "request.chunkSize");
  const firstChunk = checkSafeInteger(r.firstChunk, "request.firstChunk");
  const baseIv = checkBytes(r.baseIv, "request.baseIv");
  const tags = checkBytes(r.tags, "request.tags");
  const target = checkDestination(dest);

  if (key.byteLength !== AEAD_KEY_LENGTHS[r.algorithm]) {
    fail(
      "ERR_INVALID_KEY_LENGTH",
      `${r.algorithm} needs a ${AEAD_KEY_LENGTHS[r.algorithm]}-byte key, got ${key.byteLength} bytes`,
    );
  }
  if (baseIv.byteLength !== IV_LENGTH) {
    fail("ERR_INVALID_IV_LENGTH", `the IV must be ${IV_LENGTH} bytes, got ${baseIv.byteLength}`);
  }
  if (chunkSize === 0 && firstChunk !== 0) {
    throw new RangeError(
      "request.firstChunk must be 0 when chunkSize is 0 (whole-range decryption)",
    );
  }
  const chunks = coveredChunks(length, chunkSize);
  if (tags.byteLength !== chunks * TAG_LENGTH) {
    throw new RangeError(
      `request.tags must hold ${chunks * TAG_LENGTH} bytes (16 per chunk), got ${tags.byteLength}`,
    );
  }
  if (target.byteLength < length) {
    throw new RangeError(`dest holds ${target.byteLength} bytes but ${length} were requested`);
  }
  if (fileOffset + length > fileSize) {
    fail(
      "ERR_FILE_TRUNCATED",
      `range [${fileOffset}, ${fileOffset + length}) runs past the end of the file (${fileSize} bytes)`,
    );
  }
  if (chunkSize > 0) {
    // FORMAT.md §3.4: checked sum, never a wrap. All operands are safe integers below 2^53.
    const baseCounter = new DataView(baseIv.buffer, baseIv.byteOffset, IV_LENGTH).getUint32(
      8,
      false,
    );
    if (baseCounter + firstChunk + chunks - 1 > MAX_COUNTER) {
      fail(
        "ERR_COUNTER_OVERFLOW",
        `chunk counter ${baseCounter} + ${firstChunk + chunks - 1} exceeds 0xFFFFFFFF`,
      );
    }
  }
  return chunks;
}
