// Sealing with node:crypto: the fallback backend's seal(), and the v1 whole-tensor AEAD of both
// backends (one sequential stream gains nothing from the addon's thread pool). Produces the same
// bytes as the addon's SealChunks (test/native/agree-seal.property.test.ts).
import { type CipherGCMTypes, createCipheriv } from "node:crypto";
import { nodeCipherName, TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkBounds, rangeChunkIv } from "../crypto/chunks.js";
import type { AeadAlgorithm, SealJob, WholeSealer } from "./backend.js";

function cipherFor(algorithm: AeadAlgorithm, key: Uint8Array, iv: Uint8Array) {
  // chacha20-poly1305 is typed as a GCM name only to share the CipherGCM surface (getAuthTag).
  return createCipheriv(nodeCipherName(algorithm) as CipherGCMTypes, key, iv, {
    authTagLength: TAG_LENGTH,
  });
}

/**
 * Seals a job that {@link checkSealJob} accepted, chunk by chunk, with node:crypto.
 *
 * @example
 * ```ts
 * const chunks = checkSealJob(job);
 * sealWithNodeCrypto(job, chunks);
 * ```
 */
export function sealWithNodeCrypto(job: SealJob, chunks: number): void {
  const { plaintext, ciphertext, chunkSize } = job;
  for (let i = 0; i < chunks; i++) {
    const { start, end } = chunkBounds(plaintext.length, chunkSize, i);
    const iv = rangeChunkIv(job.baseIv, chunkSize, job.firstChunk, i);
    const cipher = cipherFor(job.algorithm, job.key, iv);
    // update() of a stream cipher mode returns exactly its input's length; final() returns nothing.
    ciphertext.set(cipher.update(plaintext.subarray(start, end)), start);
    cipher.final();
    job.tags.set(cipher.getAuthTag(), i * TAG_LENGTH);
  }
}

/**
 * A v1 whole-tensor AEAD fed piece by piece (FORMAT.md §3.3).
 *
 * @example
 * ```ts
 * const sealer = nodeWholeSealer("aes256gcm", dataKey, iv);
 * const ciphertext = sealer.update(piece);
 * const tag = sealer.final();
 * ```
 */
export function nodeWholeSealer(
  algorithm: AeadAlgorithm,
  key: Uint8Array,
  iv: Uint8Array,
): WholeSealer {
  const cipher = cipherFor(algorithm, key, iv);
  return {
    update: (plaintext) => cipher.update(plaintext),
    final: () => {
      cipher.final();
      return cipher.getAuthTag();
    },
  };
}
