// What a file says about itself without reading tensor data: a tensor's info, the user metadata
// and the encryption summary, from the parsed header and the checked envelope. Shared by an opened
// TensorFile and a model shard not opened yet (src/model/lazy-shard.ts), so both answer alike.
import { isReservedKey } from "../crypto/reserved.js";
import type { ParsedHeader, TensorEntry } from "../format/types.js";
import type { EncryptionInfo, TensorInfo } from "./tensor-file.js";
import type { Unlocked } from "./unlock.js";

/**
 * The {@link TensorInfo} of `entry`; encrypted when the envelope lists it.
 *
 * @example
 * ```ts
 * const info = tensorInfo(entry, unlocked); // { dtype, shape, byteLength, encrypted }
 * ```
 */
export function tensorInfo(entry: TensorEntry, envelope: Unlocked | null): TensorInfo {
  return {
    dtype: entry.dtype,
    shape: entry.shape.slice(),
    byteLength: entry.dataOffsets[1] - entry.dataOffsets[0],
    encrypted: envelope?.encryptedNames.has(entry.name) ?? false,
  };
}

/**
 * User metadata: every `__metadata__` entry except the reserved `__crypto_keys__`,
 * `__encryption__`, `__policy__`, `__signature__`.
 *
 * @example
 * ```ts
 * userMetadata(header); // { format: "pt" }
 * ```
 */
export function userMetadata(header: ParsedHeader): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  for (const [key, value] of header.metadata ?? []) if (!isReservedKey(key)) result[key] = value;
  return result;
}

/**
 * How a file is protected (null for plain safetensors); `names`: the tensors served, in file
 * order, of which the encrypted ones are listed.
 *
 * @example
 * ```ts
 * encryptionInfo(unlocked, file.names())?.encryptedTensors;
 * ```
 */
export function encryptionInfo(
  envelope: Unlocked | null,
  names: readonly string[],
): EncryptionInfo | null {
  if (!envelope) return null;
  const { cryptoKeys } = envelope;
  return {
    version: cryptoKeys.version,
    algorithm: cryptoKeys.enc.alg,
    chunkSize: envelope.chunkSize,
    ...(cryptoKeys.enc.kid === undefined ? {} : { encKeyId: cryptoKeys.enc.kid }),
    ...(cryptoKeys.sign.kid === undefined ? {} : { signKeyId: cryptoKeys.sign.kid }),
    encryptedTensors: names.filter((n) => envelope.encryptedNames.has(n)),
  };
}
