// The data keys of one open, unwrapped under a master key whose bytes are here, in one native
// call (native/data-keys.h): one key schedule and one JS -> C++ crossing for the whole file instead
// of a node:crypto decipher object per tensor (310 of them on a Qwen3-shaped model were 40% of an
// encrypted open, issue 13). The keys land in one unpooled Buffer; each data key is a view of it,
// so wiping every key (what the reader does on close) wipes all of it. Entries of irregular
// lengths, or a process without the addon, take the per-entry path, whose checks and errors
// define the behaviour: the batch produces the same keys and the same error for the same input.
import { decryptionFailed } from "../crypto/aead.js";
import { IV_LENGTH, keyLength, TAG_LENGTH, type AeadAlgorithm } from "../crypto/algorithms.js";
import { unwrapDataKey, type WrappedDataKey } from "../crypto/envelope.js";
import { ALGORITHM_IDS } from "../native/plan-table.js";
import { nativeKeyBinding } from "./native-keys.js";

/** Below this many entries the per-entry path is as fast (and a batch buys nothing). */
const BATCH_MIN = 2;

/**
 * The data keys of `wrapped`, in order, unwrapped under `masterKey` (its length already checked
 * against `algorithm`). The first entry that does not authenticate throws `ERR_DECRYPTION_FAILED`
 * (and no key of the batch is returned or left unwiped); lengths are checked per entry in order
 * as {@link unwrapDataKey} does. The caller wipes the keys (`fill(0)` on each) after use.
 *
 * @example
 * ```ts
 * const keys = unwrapDataKeys("aes256gcm", master.key, [...entries.values()]);
 * try { … } finally { for (const key of keys) key.fill(0); }
 * ```
 */
export function unwrapDataKeys(
  algorithm: AeadAlgorithm,
  masterKey: Uint8Array,
  wrapped: readonly WrappedDataKey[],
): Buffer[] {
  const native = wrapped.length >= BATCH_MIN ? nativeKeyBinding() : null;
  const length = keyLength(algorithm);
  if (native === null || !wrapped.every((entry) => isRegular(entry, length)))
    return unwrapEach(algorithm, masterKey, wrapped);
  const count = wrapped.length;
  const packed = Buffer.allocUnsafe(count * (length + IV_LENGTH + TAG_LENGTH));
  const keys = packed.subarray(0, count * length);
  const ivs = packed.subarray(keys.length, keys.length + count * IV_LENGTH);
  const tags = packed.subarray(keys.length + ivs.length);
  for (let i = 0; i < count; i++) {
    const entry = wrapped[i] as WrappedDataKey;
    keys.set(entry.wrappedKey, i * length);
    ivs.set(entry.keyIv, i * IV_LENGTH);
    tags.set(entry.keyTag, i * TAG_LENGTH);
  }
  // Unpooled, so that wiping it touches no one else's bytes.
  const out = Buffer.alloc(count * length);
  const failed = native.unwrapKeys(ALGORITHM_IDS[algorithm], masterKey, keys, ivs, tags, out);
  if (failed !== -1) {
    out.fill(0); // the addon wiped it already; a key must never outlive a failed open
    throw decryptionFailed();
  }
  const dataKeys = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) dataKeys[i] = out.subarray(i * length, (i + 1) * length);
  return dataKeys;
}

/** Lengths the batch handles: anything else gets the per-entry checks and their errors. */
function isRegular(entry: WrappedDataKey, length: number): boolean {
  return (
    entry.keyIv.length === IV_LENGTH &&
    entry.keyTag.length === TAG_LENGTH &&
    entry.wrappedKey.length === length
  );
}

function unwrapEach(
  algorithm: AeadAlgorithm,
  masterKey: Uint8Array,
  wrapped: readonly WrappedDataKey[],
): Buffer[] {
  const keys: Buffer[] = [];
  try {
    for (const entry of wrapped) keys.push(unwrapDataKey(algorithm, masterKey, entry));
  } catch (error) {
    for (const dataKey of keys) dataKey.fill(0);
    throw error;
  }
  return keys;
}
