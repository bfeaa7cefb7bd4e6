// The header of a rewrapped file (FORMAT.md §7.4): every data key re-wrapped under the new
// master key with a fresh key_iv, `__crypto_keys__` naming the new keys, the policy replaced
// only where given, and a new signature. Tensor entries, user metadata, IVs, tags, version and
// chunk size are carried over unchanged, so the data section stays valid byte for byte. Pure:
// no I/O; the caller supplies the opened (verified, unwrapped) file.
import { CryptoTensorsError } from "../errors.js";
import { keyLength, parseAlgorithm } from "../crypto/algorithms.js";
import { wrapDataKey } from "../crypto/envelope.js";
import {
  CRYPTO_KEYS_KEY,
  ENCRYPTION_KEY,
  isReservedKey,
  PLAINTEXT_DIGESTS_KEY,
  POLICY_KEY,
  SIGNATURE_KEY,
  serializeCryptoKeys,
  serializeEncryption,
  serializePolicy,
  type EncryptionEntry,
  type KeyDescriptor,
} from "../crypto/reserved.js";
import { signaturePayload, signPayload } from "../crypto/signature.js";
import { serializeHeader, type LayoutEntry } from "../format/serialize.js";
import type { ParsedHeader } from "../format/types.js";
import type { MasterKey, SigningKey } from "../keys/jwk.js";
import { validatePolicy } from "../policy/index.js";
import type { Unlocked } from "../reader/unlock.js";

/** The new policy texts; a side left out keeps the file's current one. */
export interface PolicyUpdate {
  local?: string;
  remote?: string;
}

/** What a rewrap changes. */
export interface HeaderChanges {
  /** New master key; absent keeps the current wrapping (and the `enc` descriptor) untouched. */
  encKey?: MasterKey;
  /** Key that signs the new header (a private Ed25519 key). */
  signKey: SigningKey;
  policy?: PolicyUpdate;
}

/**
 * The complete new prefix (8-byte N ‖ header JSON ‖ space padding to a multiple of 8) for a file
 * opened as `unlocked`. A new master key of another algorithm is `ERR_INVALID_ALGORITHM` (the
 * data is not re-encrypted, and the master key's algorithm is the data's); a wrong length
 * `ERR_INVALID_KEY_LENGTH`; a new local policy that does not compile `ERR_POLICY_INVALID`.
 *
 * @example
 * ```ts
 * const prefix = rewrappedHeader(header, unlocked, { encKey: newMaster, signKey: newSigner });
 * ```
 */
export function rewrappedHeader(
  header: ParsedHeader,
  unlocked: Unlocked,
  changes: HeaderChanges,
): Uint8Array {
  const { encKey, signKey } = changes;
  if (!signKey.canSign)
    throw new CryptoTensorsError("ERR_KEY_INVALID", "the new signing key has no private part (d)");
  let enc: KeyDescriptor = unlocked.cryptoKeys.enc;
  let entries: Array<[string, EncryptionEntry]> = [...unlocked.tensors].map(([name, sealed]) => [
    name,
    sealed.entry,
  ]);
  if (encKey) {
    const alg = encKey.alg === "" ? unlocked.cryptoKeys.enc.alg : encKey.alg;
    const algorithm = parseAlgorithm(alg);
    if (algorithm !== unlocked.algorithm) {
      throw new CryptoTensorsError(
        "ERR_INVALID_ALGORITHM",
        `the new master key is for ${algorithm} but the data is encrypted with ${unlocked.algorithm}; a rewrap cannot change the algorithm`,
      );
    }
    if (encKey.key.length !== keyLength(algorithm)) {
      throw new CryptoTensorsError(
        "ERR_INVALID_KEY_LENGTH",
        `the new ${algorithm} master key must be ${keyLength(algorithm)} bytes`,
      );
    }
    enc = { ...encKey.descriptor(), alg };
    entries = [...unlocked.tensors].map(([name, sealed]) => [
      name,
      { ...sealed.entry, ...wrapDataKey(algorithm, encKey.key, sealed.dataKey) },
    ]);
  }
  const sign: KeyDescriptor = {
    ...signKey.descriptor(),
    alg: signKey.alg === "" ? "ed25519" : signKey.alg,
  };
  const policy = { ...unlocked.policy };
  if (changes.policy?.local !== undefined) {
    validatePolicy(changes.policy.local);
    policy.local = changes.policy.local;
  }
  if (changes.policy?.remote !== undefined) policy.remote = changes.policy.remote;

  const user = (header.metadata ?? []).filter(([key]) => !isReservedKey(key));
  const unsigned: Array<[string, string]> = [
    ...user,
    [CRYPTO_KEYS_KEY, serializeCryptoKeys({ ...unlocked.cryptoKeys, enc, sign })],
    // The data was sealed whole when there is no chunk size, chunk by chunk otherwise (§2.1).
    [ENCRYPTION_KEY, serializeEncryption(entries, unlocked.chunkSize === null ? "1" : "2")],
    [POLICY_KEY, serializePolicy(policy)],
  ];
  // The plaintext tensors' digests stay valid (their bytes do not move) and must stay signed.
  const digests = (header.metadata ?? []).find(([key]) => key === PLAINTEXT_DIGESTS_KEY);
  if (digests) unsigned.push([PLAINTEXT_DIGESTS_KEY, digests[1]]);
  const signature = signPayload(
    signaturePayload(unsigned, header.tensors),
    signKey.privateKey as Buffer,
  );
  // header.tensors is in data order (ties in header order, as signed; FORMAT.md §4.4).
  const layout: LayoutEntry[] = header.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    dataOffsets: t.dataOffsets,
  }));
  return serializeHeader(layout, [...unsigned, [SIGNATURE_KEY, signature]]);
}

/**
 * `prefix` (as from {@link rewrappedHeader}) re-padded with spaces so that N equals
 * `headerLength`, or null when it does not fit. JSON allows trailing whitespace, so readers
 * (ours and the reference) parse it unchanged; the data then stays where it is.
 *
 * @example
 * ```ts
 * const same = padToLength(prefix, header.headerLength); // null → the data must move
 * ```
 */
export function padToLength(prefix: Uint8Array, headerLength: number): Uint8Array | null {
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const current = Number(view.getBigUint64(0, true));
  let json = prefix.length;
  while (json > 8 && prefix[json - 1] === 0x20) json--;
  if (json - 8 > headerLength) return null;
  if (current === headerLength) return prefix;
  const out = new Uint8Array(8 + headerLength).fill(0x20);
  out.set(prefix.subarray(0, json));
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  return out;
}
