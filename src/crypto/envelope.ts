// Data keys (DEKs) and their wrapping under the master key, FORMAT.md §3.2: one random DEK per
// encrypted tensor and save; wrap = AEAD(master key, random 12-byte key_iv, DEK) with the tag kept
// apart in key_tag. The master key's algorithm is also the data algorithm.
import { randomBytes, randomFillSync } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { open, seal } from "./aead.js";
import { IV_LENGTH, keyLength, type AeadAlgorithm } from "./algorithms.js";

/** The three key fields of an `__encryption__` entry, decoded. */
export interface WrappedDataKey {
  wrappedKey: Buffer;
  keyIv: Buffer;
  keyTag: Buffer;
}

/**
 * A fresh random data key of the algorithm's key length, from the OS CSPRNG. The caller wipes it
 * (`fill(0)`) when the tensor is sealed.
 *
 * @example
 * ```ts
 * const dek = generateDataKey("aes256gcm"); // 32 random bytes
 * ```
 */
export function generateDataKey(alg: AeadAlgorithm): Buffer {
  const key = Buffer.alloc(keyLength(alg));
  randomBytes(key.length).copy(key);
  return key;
}

/**
 * `count` fresh random data keys from one draw of the OS CSPRNG (a draw per key costs a few
 * microseconds each, on the writer's path before its first byte), each in its own unpooled
 * Buffer; the draw is wiped. The caller wipes the keys (`fill(0)`) when the tensors are sealed.
 *
 * @example
 * ```ts
 * const [a, b] = generateDataKeys("aes256gcm", 2); // two independent 32-byte keys
 * ```
 */
export function generateDataKeys(alg: AeadAlgorithm, count: number): Buffer[] {
  const length = keyLength(alg);
  const drawn = Buffer.alloc(length * count);
  randomFillSync(drawn);
  const keys = Array.from({ length: count }, (_, i) => {
    const key = Buffer.alloc(length);
    drawn.copy(key, 0, i * length, (i + 1) * length);
    return key;
  });
  drawn.fill(0);
  return keys;
}

/**
 * Wraps `dataKey` under `masterKey` with a fresh random `key_iv`.
 *
 * @example
 * ```ts
 * const entry = wrapDataKey("aes256gcm", masterKey, dek); // { wrappedKey, keyIv, keyTag }
 * ```
 */
export function wrapDataKey(
  alg: AeadAlgorithm,
  masterKey: Uint8Array,
  dataKey: Uint8Array,
): WrappedDataKey {
  return wrapDataKeyWithIv(alg, masterKey, dataKey, randomBytes(IV_LENGTH));
}

/**
 * Wraps each of `dataKeys` under `masterKey`, each with its own fresh random `key_iv`; the IVs
 * come from one draw of the CSPRNG (a draw per key costs a few microseconds, 310 of them on a
 * Qwen3-shaped model, before the writer's first byte).
 *
 * @example
 * ```ts
 * const [a, b] = wrapDataKeys("aes256gcm", masterKey, [dek1, dek2]);
 * ```
 */
export function wrapDataKeys(
  alg: AeadAlgorithm,
  masterKey: Uint8Array,
  dataKeys: readonly Uint8Array[],
): WrappedDataKey[] {
  const ivs = randomBytes(IV_LENGTH * dataKeys.length);
  return dataKeys.map((dataKey, i) =>
    wrapDataKeyWithIv(alg, masterKey, dataKey, ivs.subarray(i * IV_LENGTH, (i + 1) * IV_LENGTH)),
  );
}

/**
 * Wraps `dataKey` under `masterKey` with the given `keyIv`. Only for known-answer tests and
 * fixtures: a `keyIv` must never be reused with the same master key; use {@link wrapDataKey}.
 *
 * @example
 * ```ts
 * wrapDataKeyWithIv("aes256gcm", masterKey, dek, Buffer.alloc(12)); // deterministic
 * ```
 */
export function wrapDataKeyWithIv(
  alg: AeadAlgorithm,
  masterKey: Uint8Array,
  dataKey: Uint8Array,
  keyIv: Uint8Array,
): WrappedDataKey {
  const expected = keyLength(alg);
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== expected) {
    throw new RangeError(`a ${alg} data key is ${expected} bytes`);
  }
  const { ciphertext, tag } = seal(alg, masterKey, keyIv, dataKey);
  return { wrappedKey: ciphertext, keyIv: Buffer.from(keyIv), keyTag: tag };
}

/**
 * Recovers a data key. A wrong master key (or a modified entry) throws `ERR_DECRYPTION_FAILED`;
 * a master key of the wrong size `ERR_INVALID_KEY_LENGTH`; a `key_iv` that is not 12 bytes
 * `ERR_INVALID_IV_LENGTH`; an unwrapped key of the wrong size `ERR_INVALID_KEY_LENGTH`.
 *
 * @example
 * ```ts
 * const dek = unwrapDataKey("aes256gcm", masterKey, entry);
 * try { … } finally { dek.fill(0); }
 * ```
 */
export function unwrapDataKey(
  alg: AeadAlgorithm,
  masterKey: Uint8Array,
  entry: WrappedDataKey,
): Buffer {
  const dataKey = open(alg, masterKey, entry.keyIv, entry.wrappedKey, entry.keyTag);
  const expected = keyLength(alg);
  if (dataKey.length !== expected) {
    dataKey.fill(0);
    throw new CryptoTensorsError(
      "ERR_INVALID_KEY_LENGTH",
      `an unwrapped ${alg} data key is ${dataKey.length} bytes instead of ${expected}`,
    );
  }
  return dataKey;
}
