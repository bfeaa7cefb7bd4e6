// Argument checks shared by both backends, so that the native and the fallback path reject the
// same calls with the same errors, in the same order (FORMAT.md §3.3–§3.4).
import { types } from "node:util";
import {
  AEAD_KEY_LENGTHS,
  type AeadAlgorithm,
  IV_LENGTH,
  TAG_LENGTH,
} from "../crypto/algorithms.js";
import { checkCounterRange, coveredChunks } from "../crypto/chunks.js";
import { fail } from "../errors.js";
import { bufferLength, destinationDetached, isResizableBuffer, viewParts } from "./views.js";
import type { Backend, DecryptRequest, SealJob } from "./backend.js";

function checkAlgorithm(value: unknown, name: string): AeadAlgorithm {
  if (typeof value !== "string" || !Object.hasOwn(AEAD_KEY_LENGTHS, value)) {
    throw new TypeError(`${name} must be one of ${Object.keys(AEAD_KEY_LENGTHS).join(", ")}`);
  }
  return value as AeadAlgorithm;
}

function checkKeyAndIv(algorithm: AeadAlgorithm, key: Uint8Array, baseIv: Uint8Array): void {
  if (key.byteLength !== AEAD_KEY_LENGTHS[algorithm]) {
    fail(
      "ERR_INVALID_KEY_LENGTH",
      `${algorithm} needs a ${AEAD_KEY_LENGTHS[algorithm]}-byte key, got ${key.byteLength} bytes`,
    );
  }
  if (baseIv.byteLength !== IV_LENGTH) {
    fail("ERR_INVALID_IV_LENGTH", `the IV must be ${IV_LENGTH} bytes, got ${baseIv.byteLength}`);
  }
}

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

/**
 * A destination native threads may write to while JS runs: a resizable buffer could shrink under
 * them. Looked at through the intrinsic getters (views.ts), never a subclass's `buffer` or
 * `byteLength`: the view returned is a plain Uint8Array over the same memory, whose length is real.
 */
function checkDestination(value: unknown, name = "dest"): Uint8Array {
  const dest = checkBytes(value, name);
  const { buffer, byteOffset, byteLength } = viewParts(dest);
  if (isResizableBuffer(buffer)) {
    throw new TypeError(
      `${name} must not be backed by a resizable ArrayBuffer (it could shrink during the read)`,
    );
  }
  try {
    return new Uint8Array(buffer, byteOffset, byteLength);
  } catch (error) {
    // A view of a transferred (detached) buffer: say so, on both backends, not a bare TypeError.
    if (bufferLength(buffer) === 0) throw destinationDetached();
    throw error;
  }
}

/**
 * Longest plaintext one AEAD message may have, in bytes: 2^36 - 32 for GCM (NIST SP 800-38D;
 * beyond it the 32-bit block counter wraps) and 2^38 - 64 for ChaCha20-Poly1305 (RFC 8439). A v1
 * tensor is one message, a v2 chunk is one message.
 */
export const AEAD_MAX_MESSAGE: Readonly<Record<AeadAlgorithm, number>> = {
  aes128gcm: 2 ** 36 - 32,
  aes256gcm: 2 ** 36 - 32,
  chacha20poly1305: 2 ** 38 - 64,
};

/**
 * Throws ERR_ENCRYPTION_INVALID when a tensor of `tensorLength` bytes cannot be one (v1,
 * `chunkSize` null or 0) or a sequence (v2) of AEAD messages of `algorithm` within its limit.
 *
 * @example
 * ```ts
 * checkMessageLimit("aes256gcm", 0, 2 ** 37, "weight"); // throws: a v1 tensor over 64 GiB
 * ```
 */
export function checkMessageLimit(
  algorithm: AeadAlgorithm,
  chunkSize: number | null,
  tensorLength: number,
  what: string,
): void {
  const message = chunkSize ? Math.min(chunkSize, tensorLength) : tensorLength;
  const limit = AEAD_MAX_MESSAGE[algorithm];
  if (message > limit) {
    fail(
      "ERR_ENCRYPTION_INVALID",
      `${what}: ${chunkSize ? `chunks of ${chunkSize} bytes` : `a whole (v1) tensor of ${tensorLength} bytes`} exceed the ${limit}-byte message limit of ${algorithm}; such data cannot have been sealed correctly`,
    );
  }
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
  const algorithm = checkAlgorithm(r.algorithm, "request.algorithm");
  const key = checkBytes(r.key, "request.key");
  const fileOffset = checkSafeInteger(r.fileOffset, "request.fileOffset");
  const length = checkSafeInteger(r.length, "request.length");
  const chunkSize = checkSafeInteger(r.chunkSize, "request.chunkSize");
  const firstChunk = checkSafeInteger(r.firstChunk, "request.firstChunk");
  const baseIv = checkBytes(r.baseIv, "request.baseIv");
  const tags = checkBytes(r.tags, "request.tags");
  const target = checkDestination(dest);

  checkKeyAndIv(algorithm, key, baseIv);
  if (chunkSize === 0 && firstChunk !== 0) {
    throw new RangeError(
      "request.firstChunk must be 0 when chunkSize is 0 (whole-range decryption)",
    );
  }
  checkMessageLimit(algorithm, chunkSize, length, "the request");
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
  if (chunkSize > 0) checkCounterRange(baseIv, firstChunk, chunks);
  return chunks;
}

/**
 * Checks a seal job (both backends, same order as {@link checkDecryptRequest}) and returns its
 * chunk count.
 *
 * @example
 * ```ts
 * const chunks = checkSealJob(job); // job.tags.length === chunks * 16
 * ```
 */
export function checkSealJob(job: unknown): number {
  if (typeof job !== "object" || job === null) throw new TypeError("job must be an object");
  const j = job as Partial<SealJob>;
  const algorithm = checkAlgorithm(j.algorithm, "job.algorithm");
  const key = checkBytes(j.key, "job.key");
  const baseIv = checkBytes(j.baseIv, "job.baseIv");
  const firstChunk = checkSafeInteger(j.firstChunk, "job.firstChunk");
  const chunkSize = checkSafeInteger(j.chunkSize, "job.chunkSize");
  const plaintext = checkBytes(j.plaintext, "job.plaintext");
  const ciphertext = checkDestination(j.ciphertext, "job.ciphertext");
  const tags = checkDestination(j.tags, "job.tags");
  checkKeyAndIv(algorithm, key, baseIv);
  if (chunkSize === 0 && firstChunk !== 0) {
    throw new RangeError("job.firstChunk must be 0 when chunkSize is 0 (whole-range sealing)");
  }
  if (ciphertext.byteLength !== plaintext.byteLength) {
    throw new RangeError(
      `job.ciphertext holds ${ciphertext.byteLength} bytes but the plaintext has ${plaintext.byteLength}`,
    );
  }
  const chunks = coveredChunks(plaintext.byteLength, chunkSize);
  if (tags.byteLength !== chunks * TAG_LENGTH) {
    throw new RangeError(
      `job.tags must hold ${chunks * TAG_LENGTH} bytes (16 per chunk), got ${tags.byteLength}`,
    );
  }
  if (chunkSize > 0) checkCounterRange(baseIv, firstChunk, chunks);
  return chunks;
}

/**
 * Checks every job of {@link Backend.sealAll} (an array of seal jobs) and returns their chunk counts.
 *
 * @example
 * ```ts
 * const chunks = checkSealJobs([jobA, jobB]); // [chunksOfA, chunksOfB]
 * ```
 */
export function checkSealJobs(jobs: unknown): number[] {
  if (!Array.isArray(jobs)) throw new TypeError("jobs must be an array of seal jobs");
  return jobs.map((job) => checkSealJob(job));
}

/**
 * Checks the arguments of {@link Backend.wholeSealer} (a v1 AEAD: one 12-byte IV).
 *
 * @example
 * ```ts
 * checkWholeSeal("aes256gcm", dataKey, iv);
 * ```
 */
export function checkWholeSeal(algorithm: unknown, key: unknown, iv: unknown): void {
  checkKeyAndIv(
    checkAlgorithm(algorithm, "algorithm"),
    checkBytes(key, "key"),
    checkBytes(iv, "iv"),
  );
}

/**
 * Checks the path given to {@link Backend.open} and returns it.
 *
 * @example
 * ```ts
 * const path = checkOpenPath(target);
 * ```
 */
export function checkOpenPath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError("path must be a string or a ByteSource");
  if (path.length === 0 || path.includes("\0")) {
    throw new TypeError("path must be a non-empty string without NUL characters");
  }
  return path;
}
