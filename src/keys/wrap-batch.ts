// The data keys of one save, wrapped under a master key whose bytes are here in one native call
// (native/data-keys.h), the inverse of unwrap-batch.ts: one key schedule instead of a node:crypto
// cipher object per tensor (310 of them were ~2-7 ms of an encrypted save's JS thread, issue 13,
// right as its first batches were being written). Keys of another length, or a process without
// the addon, take the per-entry path, whose checks and errors define the behaviour: the batch
// produces the same bytes for the same IVs.
import { randomBytes } from "node:crypto";
import { IV_LENGTH, keyLength, TAG_LENGTH, type AeadAlgorithm } from "../crypto/algorithms.js";
import { wrapDataKeyWithIv, type WrappedDataKey } from "../crypto/envelope.js";
import { ALGORITHM_IDS } from "../native/plan-table.js";
import { nativeKeyBinding } from "./native-keys.js";

/** Below this many keys the per-entry path is as fast (and a batch buys nothing). */
const BATCH_MIN = 2;

/**
 * `dataKeys` wrapped under `masterKey` (its length already checked against `algorithm`), each
 * with its own fresh random `key_iv` (one draw of the CSPRNG for all of them).
 *
 * @example
 * ```ts
 * const wrapped = wrapDataKeysBatch("aes256gcm", master.key, dataKeys);
 * ```
 */
export function wrapDataKeysBatch(
  algorithm: AeadAlgorithm,
  masterKey: Uint8Array,
  dataKeys: readonly Uint8Array[],
): WrappedDataKey[] {
  return wrapDataKeysWithIvs(
    algorithm,
    masterKey,
    dataKeys,
    randomBytes(IV_LENGTH * dataKeys.length),
  );
}

/**
 * @internal As {@link wrapDataKeysBatch} with the given IVs (12 bytes per key, in order): only for
 * known-answer tests, an IV must never repeat under one master key.
 *
 * @example
 * ```ts
 * wrapDataKeysWithIvs("aes256gcm", master, keys, Buffer.alloc(12 * keys.length)); // deterministic
 * ```
 */
export function wrapDataKeysWithIvs(
  algorithm: AeadAlgorithm,
  masterKey: Uint8Array,
  dataKeys: readonly Uint8Array[],
  ivs: Buffer,
): WrappedDataKey[] {
  const count = dataKeys.length;
  const ivOf = (i: number): Buffer => ivs.subarray(i * IV_LENGTH, (i + 1) * IV_LENGTH);
  const wrapKeys = count >= BATCH_MIN ? nativeKeyBinding()?.wrapKeys : undefined;
  const length = keyLength(algorithm);
  if (
    wrapKeys === undefined ||
    !dataKeys.every((key) => key instanceof Uint8Array && key.length === length)
  )
    return dataKeys.map((key, i) => wrapDataKeyWithIv(algorithm, masterKey, key, ivOf(i)));
  // Unpooled, so that wiping the copy of the keys touches no one else's bytes.
  const keys = Buffer.alloc(count * length);
  const wrapped = Buffer.alloc(count * length);
  const tags = Buffer.alloc(count * TAG_LENGTH);
  try {
    for (let i = 0; i < count; i++) keys.set(dataKeys[i] as Uint8Array, i * length);
    wrapKeys(ALGORITHM_IDS[algorithm], masterKey, keys, ivs, wrapped, tags);
  } finally {
    keys.fill(0);
  }
  const result = new Array<WrappedDataKey>(count);
  for (let i = 0; i < count; i++) {
    result[i] = {
      wrappedKey: wrapped.subarray(i * length, (i + 1) * length),
      keyIv: ivOf(i),
      keyTag: tags.subarray(i * TAG_LENGTH, (i + 1) * TAG_LENGTH),
    };
  }
  return result;
}
