// Chunk arithmetic and per-chunk nonces of the v2 layout (FORMAT.md §3.4).
// IV_i = base_iv[0..8] ‖ BE32(c0 + i) with c0 = BE32(base_iv[8..12]); the sum is checked, never
// wrapped: a wrap would reuse a nonce under the same data key.
import { randomBytes, randomInt } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { IV_LENGTH } from "./algorithms.js";

/** Chunk size used when a v2 header has no `chunk_size`, and the writer's default: 2 MiB. */
export const DEFAULT_CHUNK_SIZE = 2 * 1024 * 1024;

const MAX_COUNTER = 0xffffffff;
const MAX_CHUNKS = MAX_COUNTER + 1;

function checkSafeCount(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer ≥ ${min}, got ${String(value)}`);
  }
}

/**
 * Number of chunks of a v2 tensor of `length` bytes: `ceil(length / chunkSize)`, and 1 for an
 * empty tensor (which is sealed once, FORMAT.md §3.5).
 *
 * @example
 * ```ts
 * chunkCount(0, 4); // 1
 * chunkCount(9, 4); // 3
 * ```
 */
export function chunkCount(length: number, chunkSize: number): number {
  checkSafeCount(length, "length", 0);
  checkSafeCount(chunkSize, "chunkSize", 1);
  return length === 0 ? 1 : Math.ceil(length / chunkSize);
}

/**
 * Number of chunks (and 16-byte tags) a decrypt or seal range covers: 1 for a whole (v1) range
 * (`chunkSize === 0`) and for an empty chunked range (an empty v2 tensor is one seal of the empty
 * string), else `ceil(length / chunkSize)`. Unlike {@link chunkCount} it does not re-check its
 * arguments: callers validated them already (hot path of every backend request).
 *
 * @example
 * ```ts
 * coveredChunks(10, 4); // 3
 * coveredChunks(0, 4);  // 1
 * coveredChunks(10, 0); // 1
 * ```
 */
export function coveredChunks(length: number, chunkSize: number): number {
  if (chunkSize === 0 || length === 0) return 1;
  return Math.ceil(length / chunkSize);
}

/**
 * Bytes `[start, end)` of chunk `i` of a range of `length` bytes cut into `chunkSize`-byte chunks;
 * the whole range for a whole (v1) range (`chunkSize === 0`). Arguments are not re-checked.
 *
 * @example
 * ```ts
 * chunkBounds(10, 4, 2); // { start: 8, end: 10 }
 * chunkBounds(10, 0, 0); // { start: 0, end: 10 }
 * ```
 */
export function chunkBounds(
  length: number,
  chunkSize: number,
  i: number,
): { start: number; end: number } {
  if (chunkSize === 0) return { start: 0, end: length };
  const start = i * chunkSize;
  return { start, end: Math.min(length, start + chunkSize) };
}

/**
 * Throws `ERR_COUNTER_OVERFLOW` unless chunks `firstChunk .. firstChunk + chunks − 1` of a range
 * with this `baseIv` all have a counter ≤ 0xFFFFFFFF (FORMAT.md §3.4: a checked sum, never a wrap).
 * All operands are safe integers below 2^53, so the sum is exact.
 *
 * @example
 * ```ts
 * checkCounterRange(baseIv, 0, chunkCount(length, chunkSize));
 * ```
 */
export function checkCounterRange(baseIv: Uint8Array, firstChunk: number, chunks: number): void {
  const baseCounter = new DataView(baseIv.buffer, baseIv.byteOffset, IV_LENGTH).getUint32(8, false);
  if (baseCounter + firstChunk + chunks - 1 > MAX_COUNTER) {
    throw new CryptoTensorsError(
      "ERR_COUNTER_OVERFLOW",
      `chunk counter ${baseCounter} + ${firstChunk + chunks - 1} exceeds 0xFFFFFFFF`,
    );
  }
}

/**
 * The nonce of chunk `index`. Like the reference, a `baseIv` longer than 12 bytes is read by its
 * first 12; a shorter one throws `ERR_INVALID_IV_LENGTH`. A counter past 0xFFFFFFFF throws
 * `ERR_COUNTER_OVERFLOW`.
 *
 * @example
 * ```ts
 * chunkIv(Buffer.from("c0c1c2c3c4c5c6c7fffffffe", "hex"), 1); // c0c1c2c3c4c5c6c7ffffffff
 * chunkIv(Buffer.from("c0c1c2c3c4c5c6c7fffffffe", "hex"), 2); // throws ERR_COUNTER_OVERFLOW
 * ```
 */
export function chunkIv(baseIv: Uint8Array, index: number): Buffer {
  if (!(baseIv instanceof Uint8Array)) throw new TypeError("baseIv must be a Uint8Array");
  checkSafeCount(index, "chunk index", 0);
  if (baseIv.length < IV_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_INVALID_IV_LENGTH",
      `base_iv must be ${IV_LENGTH} bytes, got ${baseIv.length}`,
    );
  }
  const iv = Buffer.alloc(IV_LENGTH);
  iv.set(baseIv.subarray(0, IV_LENGTH));
  const counter = iv.readUInt32BE(8) + index;
  if (counter > MAX_COUNTER) {
    throw new CryptoTensorsError(
      "ERR_COUNTER_OVERFLOW",
      `chunk ${index} would overflow the 32-bit IV counter of base_iv; the file is corrupt or was written by a buggy writer`,
    );
  }
  iv.writeUInt32BE(counter, 8);
  return iv;
}

/**
 * The nonce of chunk `i` of a range that starts at chunk `firstChunk`: the base IV itself for a
 * whole (v1) range (`chunkSize === 0`), else {@link chunkIv} of `firstChunk + i`.
 *
 * @example
 * ```ts
 * const iv = rangeChunkIv(request.baseIv, request.chunkSize, request.firstChunk, i);
 * ```
 */
export function rangeChunkIv(
  baseIv: Uint8Array,
  chunkSize: number,
  firstChunk: number,
  i: number,
): Uint8Array {
  return chunkSize === 0 ? baseIv : chunkIv(baseIv, firstChunk + i);
}

/**
 * A fresh random `base_iv` whose counter leaves room for `chunks` chunks
 * (`c0 + chunks − 1 ≤ 0xFFFFFFFF`). The counter is drawn uniformly from the valid range, which is
 * the distribution the spec's "redraw until it fits" gives, without an unbounded loop.
 * More than 2³² chunks cannot fit and throws `ERR_COUNTER_OVERFLOW`.
 *
 * @example
 * ```ts
 * const baseIv = randomBaseIv(chunkCount(data.length, DEFAULT_CHUNK_SIZE));
 * ```
 */
export function randomBaseIv(chunks: number): Buffer {
  checkSafeCount(chunks, "chunks", 1);
  if (chunks > MAX_CHUNKS) {
    throw new CryptoTensorsError(
      "ERR_COUNTER_OVERFLOW",
      `${chunks} chunks exceed the 2^32 nonces of one base_iv; use a larger chunk size`,
    );
  }
  const iv = Buffer.alloc(IV_LENGTH);
  randomBytes(8).copy(iv, 0);
  // randomInt's range is limited to 2^48 − 1, well above the 2^32 needed here.
  iv.writeUInt32BE(randomInt(0, MAX_CHUNKS - chunks + 1), 8);
  return iv;
}

/**
 * One {@link randomBaseIv} per entry of `chunkCounts`, from one draw of the CSPRNG (a writer
 * needs one per tensor before its first byte: 310 draws of ~7 us each on a Qwen3-shaped model).
 * Each counter is uniform over its valid range, as in {@link randomBaseIv}: a drawn 32-bit value
 * outside the range (probability (chunks − 1) / 2³²) is redrawn by {@link randomBaseIv}.
 *
 * @example
 * ```ts
 * const [a, b] = randomBaseIvs([1, 40]);
 * ```
 */
export function randomBaseIvs(chunkCounts: readonly number[]): Buffer[] {
  for (const chunks of chunkCounts) {
    checkSafeCount(chunks, "chunks", 1);
    if (chunks > MAX_CHUNKS) return chunkCounts.map(randomBaseIv); // throws ERR_COUNTER_OVERFLOW
  }
  const drawn = randomBytes(IV_LENGTH * chunkCounts.length);
  return chunkCounts.map((chunks, i) => {
    const iv = Buffer.from(drawn.subarray(i * IV_LENGTH, (i + 1) * IV_LENGTH));
    // Counters c0 in [0, MAX_CHUNKS − chunks] leave room for every chunk: a value above is
    // redrawn rather than reduced (a modulo would bias the counter).
    return iv.readUInt32BE(8) <= MAX_CHUNKS - chunks ? iv : randomBaseIv(chunks);
  });
}
