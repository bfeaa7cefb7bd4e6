// Sealing and opening one tensor's bytes in the v1 (whole) and v2 (chunked) layouts,
// FORMAT.md §3.3–§3.5. The ciphertext always has the plaintext's length; tags live in the header.
import { randomBytes } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { decryptionFailed, open, seal } from "./aead.js";
import { IV_LENGTH, TAG_LENGTH, type AeadAlgorithm } from "./algorithms.js";
import { chunkCount, chunkIv, randomBaseIv } from "./chunks.js";
import { generateDataKey, wrapDataKey, type WrappedDataKey } from "./envelope.js";

/** Mode fields of a v1 entry: `iv` and `tag`, both empty for an empty tensor. */
export interface WholeFields {
  iv: Buffer;
  tag: Buffer;
}

/** Mode fields of a v2 entry: `base_iv` and the concatenated chunk tags. */
export interface ChunkedFields {
  baseIv: Buffer;
  tags: Buffer;
}

/**
 * v1: one AEAD over the whole tensor with `iv`. An empty tensor is not sealed at all and gets
 * empty `iv` and `tag` (the reference writes them as `""`).
 *
 * @example
 * ```ts
 * const { ciphertext, iv, tag } = sealWhole("aes256gcm", dek, randomBytes(12), data);
 * ```
 */
export function sealWhole(
  alg: AeadAlgorithm,
  dataKey: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): { ciphertext: Buffer } & WholeFields {
  if (plaintext.length === 0)
    return { ciphertext: Buffer.alloc(0), iv: Buffer.alloc(0), tag: Buffer.alloc(0) };
  const { ciphertext, tag } = seal(alg, dataKey, iv, plaintext);
  return { ciphertext, iv: Buffer.from(iv), tag };
}

/**
 * Opens a v1 tensor. Empty data with empty `iv` and `tag` is the empty tensor; empty data with a
 * non-empty IV or tag is checked normally; data with an empty IV throws `ERR_INVALID_IV_LENGTH`
 * (all as the reference, §3.5). Tag mismatches throw `ERR_DECRYPTION_FAILED`.
 *
 * @example
 * ```ts
 * const plaintext = openWhole("aes256gcm", dek, ciphertext, entry.iv, entry.tag);
 * ```
 */
export function openWhole(
  alg: AeadAlgorithm,
  dataKey: Uint8Array,
  ciphertext: Uint8Array,
  iv: Uint8Array,
  tag: Uint8Array,
): Buffer {
  if (ciphertext.length === 0 && iv.length === 0 && tag.length === 0) return Buffer.alloc(0);
  return open(alg, dataKey, iv, ciphertext, tag);
}

/**
 * v2: seals chunk `i` = `[i·cs, min((i+1)·cs, L))` with {@link chunkIv}; `tags` = all chunk tags
 * in order. An empty tensor is one seal of the empty string with IV = `baseIv`.
 *
 * @example
 * ```ts
 * const { ciphertext, tags } = sealChunked("aes256gcm", dek, randomBaseIv(n), data, 2 * 1024 * 1024);
 * ```
 */
export function sealChunked(
  alg: AeadAlgorithm,
  dataKey: Uint8Array,
  baseIv: Uint8Array,
  plaintext: Uint8Array,
  chunkSize: number,
): { ciphertext: Buffer } & ChunkedFields {
  const n = chunkCount(plaintext.length, chunkSize);
  // Fail before any work if the last chunk's counter cannot exist.
  chunkIv(baseIv, n - 1);
  const ciphertext = Buffer.alloc(plaintext.length);
  const tags = Buffer.alloc(n * TAG_LENGTH);
  for (let i = 0; i < n; i++) {
    const begin = Math.min(i * chunkSize, plaintext.length);
    const end = Math.min(begin + chunkSize, plaintext.length);
    const sealed = seal(alg, dataKey, chunkIv(baseIv, i), plaintext.subarray(begin, end));
    sealed.ciphertext.copy(ciphertext, begin);
    sealed.tag.copy(tags, i * TAG_LENGTH);
  }
  return { ciphertext, baseIv: Buffer.from(baseIv), tags };
}

/**
 * Opens a v2 tensor. `tags` must hold exactly one 16-byte tag per chunk (the reference ignores
 * surplus bytes; FORMAT.md §8.6 asks us to refuse them): a short or long `tags`, or any chunk
 * whose tag fails, throws `ERR_DECRYPTION_FAILED`. Counter overflow throws
 * `ERR_COUNTER_OVERFLOW`; a `baseIv` under 12 bytes `ERR_INVALID_IV_LENGTH`.
 *
 * @example
 * ```ts
 * const plaintext = openChunked("aes256gcm", dek, ciphertext, entry.baseIv, entry.tags, chunkSize);
 * ```
 */
export function openChunked(
  alg: AeadAlgorithm,
  dataKey: Uint8Array,
  ciphertext: Uint8Array,
  baseIv: Uint8Array,
  tags: Uint8Array,
  chunkSize: number,
): Buffer {
  const n = chunkCount(ciphertext.length, chunkSize);
  if (tags.length !== n * TAG_LENGTH) throw decryptionFailed();
  if (ciphertext.length === 0) {
    // The empty tensor's IV is base_iv itself, which must then be exactly 12 bytes (§3.5).
    if (baseIv.length !== IV_LENGTH) {
      throw new CryptoTensorsError(
        "ERR_INVALID_IV_LENGTH",
        `base_iv must be ${IV_LENGTH} bytes, got ${baseIv.length}`,
      );
    }
    return open(alg, dataKey, baseIv, ciphertext, tags);
  }
  chunkIv(baseIv, n - 1);
  const plaintext = Buffer.alloc(ciphertext.length);
  try {
    for (let i = 0; i < n; i++) {
      const begin = i * chunkSize;
      const end = Math.min(begin + chunkSize, ciphertext.length);
      const tag = tags.subarray(i * TAG_LENGTH, (i + 1) * TAG_LENGTH);
      open(alg, dataKey, chunkIv(baseIv, i), ciphertext.subarray(begin, end), tag).copy(
        plaintext,
        begin,
      );
    }
  } catch (error) {
    plaintext.fill(0); // never hand out a partly authenticated tensor
    throw error;
  }
  return plaintext;
}

/** One encrypted tensor: its ciphertext and the decoded fields of its `__encryption__` entry. */
export type EncryptedTensor = {
  ciphertext: Buffer;
  entry: WrappedDataKey & (WholeFields | ChunkedFields);
};

/**
 * Encrypts one tensor the way the writer does: a fresh DEK, wrapped under `masterKey` with a fresh
 * `key_iv`, then v1 (`chunkSize === null`) or v2 sealing with fresh random IVs. The DEK is wiped.
 *
 * @example
 * ```ts
 * const { ciphertext, entry } = encryptTensor("aes256gcm", masterKey, data, DEFAULT_CHUNK_SIZE);
 * ```
 */
export function encryptTensor(
  alg: AeadAlgorithm,
  masterKey: Uint8Array,
  plaintext: Uint8Array,
  chunkSize: number | null,
): EncryptedTensor {
  const dataKey = generateDataKey(alg);
  try {
    const wrapped = wrapDataKey(alg, masterKey, dataKey);
    if (chunkSize === null) {
      const { ciphertext, iv, tag } = sealWhole(alg, dataKey, randomBytes(IV_LENGTH), plaintext);
      return { ciphertext, entry: { ...wrapped, iv, tag } };
    }
    const baseIv = randomBaseIv(chunkCount(plaintext.length, chunkSize));
    const { ciphertext, tags } = sealChunked(alg, dataKey, baseIv, plaintext, chunkSize);
    return { ciphertext, entry: { ...wrapped, baseIv, tags } };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Decrypts one tensor from its data key and `__encryption__` mode fields, choosing the layout by
 * the header's effective chunk size (not its version: a `"1"` header with `chunk_size` is chunked,
 * §2.1). A missing `iv`/`tag` (whole) or `base_iv`/`tags` (chunked) throws `ERR_DECRYPTION_FAILED`,
 * as in the reference.
 *
 * @example
 * ```ts
 * const plaintext = decryptTensor("aes256gcm", dek, ciphertext, entry, keysHeader.chunkSize);
 * ```
 */
export function decryptTensor(
  alg: AeadAlgorithm,
  dataKey: Uint8Array,
  ciphertext: Uint8Array,
  fields: { iv?: Buffer; tag?: Buffer; baseIv?: Buffer; tags?: Buffer },
  chunkSize: number | null,
): Buffer {
  if (chunkSize === null) {
    if (fields.iv === undefined || fields.tag === undefined) throw decryptionFailed();
    return openWhole(alg, dataKey, ciphertext, fields.iv, fields.tag);
  }
  if (fields.baseIv === undefined || fields.tags === undefined) throw decryptionFailed();
  return openChunked(alg, dataKey, ciphertext, fields.baseIv, fields.tags, chunkSize);
}
