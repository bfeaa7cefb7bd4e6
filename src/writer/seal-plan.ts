// Draws the per-tensor secrets of an encrypted save (FORMAT.md §3.2–§3.5) and builds the reserved
// metadata entries around them. Everything but the data tags and the signature is fixed before
// the data is written, so the header's length is known up front and the data can be streamed.
import type { MasterKeyInput, SigningKeyInput } from "../keys/jwk-types.js";
import { CryptoTensorsError } from "../errors.js";
import { IV_LENGTH, keyLength, parseAlgorithm, TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkCount, DEFAULT_CHUNK_SIZE, randomBaseIvs } from "../crypto/chunks.js";
import { generateDataKeys } from "../crypto/envelope.js";
import {
  DEFAULT_POLICY,
  serializeCryptoKeys,
  serializeEncryption,
  serializePolicy,
  type CryptoKeysHeader,
  type EncryptionEntry,
} from "../crypto/reserved.js";
import { randomBytes } from "node:crypto";
import { HeldKey } from "../keys/held-key.js";
import { parseJwk, type MasterKey, type SigningKey } from "../keys/jwk.js";
import {
  rawMasterAccess,
  rawSignerAccess,
  type MasterAccess,
  type SignerAccess,
} from "../keys/key-access.js";
import type { AeadAlgorithm } from "../crypto/algorithms.js";
import { validatePolicy } from "../policy/index.js";

/** Encryption settings of `saveFile` (FORMAT.md §7.1). */
export interface EncryptionOptions {
  /**
   * Master key: a JWK in the reference's form (`kty: "oct"`, `alg`, `k`, optional `kid`/`jku`), a
   * parsed key, or a {@link HeldKey} kept by an HSM/KMS provider (which then wraps the data keys).
   */
  encKey: MasterKeyInput;
  /**
   * Signing key: an Ed25519 JWK in the reference's form (`kty: "okp"`, `alg: "ed25519"`, `d`,
   * `x`), a parsed key, or a {@link HeldKey} kept by a provider (which then signs the header).
   */
  signKey: SigningKeyInput;
  /** Format version: "2" (chunked, default) or "1" (one AEAD per tensor). */
  version?: "1" | "2" | 1 | 2;
  /** Chunk size in bytes for version 2 (default 2 MiB). */
  chunkSize?: number;
  /**
   * Names of the tensors to encrypt (default all). A name that is not a tensor of the file is
   * `ERR_TENSOR_NOT_FOUND`, and a request that selects no tensor is `ERR_NOTHING_TO_ENCRYPT`
   * (the reference ignores unknown names and then writes a plain, unsigned file). The tensors
   * left in plaintext are authenticated by a signed SHA-256 each (`__plaintext_sha256__`).
   */
  tensors?: readonly string[];
  /** Rego policies; each missing one defaults to `package model\nallow = true`. */
  policy?: { local?: string; remote?: string };
}

export interface SealedSlot {
  name: string;
  dataKey: Buffer;
  entry: EncryptionEntry;
}

export interface SealPlan {
  algorithm: AeadAlgorithm;
  chunkSize: number | null;
  version: "1" | "2";
  /** Signs the final header (with the key's bytes, or inside its provider). */
  signer: SignerAccess;
  slots: Map<string, SealedSlot>;
  /** Reserved entries except `__encryption__` (rebuilt with the real tags) and `__signature__`. */
  cryptoKeysText: string;
  policyText: string;
  /**
   * Wraps the data keys into the slots' entries, if that was left for later: with a master key
   * whose bytes are here the wrapped fields have fixed lengths (so the draft header is exact
   * without them) and the wrap runs while the first batch is written, not before it. Call before
   * the final `__encryption__` is built and before the plan is wiped; idempotent.
   */
  wrapKeys(): Promise<void>;
}

export async function planSealing(
  options: EncryptionOptions,
  layout: ReadonlyArray<{ name: string; dataOffsets: readonly [number, number] }>,
): Promise<SealPlan | null> {
  const selected = selectTensors(
    options.tensors,
    layout.map((t) => t.name),
  );
  const encKey = asMasterKey(options.encKey);
  const signKey = asSigningKey(options.signKey);
  const version = parseVersion(options.version);
  const chunkSize = version === "2" ? parseChunkSize(options.chunkSize) : null;
  if (version === "1" && options.chunkSize !== undefined) {
    throw new RangeError("chunkSize applies to version 2 only");
  }
  const algorithm = parseAlgorithm(encKey.alg);
  if (encKey instanceof HeldKey) {
    if (encKey.kind !== "master")
      throw new CryptoTensorsError("ERR_KEY_INVALID", "encryption.encKey is a held signing key");
  } else if (encKey.key.length !== keyLength(algorithm)) {
    throw new CryptoTensorsError(
      "ERR_INVALID_KEY_LENGTH",
      `the ${algorithm} master key must be ${keyLength(algorithm)} bytes`,
    );
  }
  const local = options.policy?.local ?? DEFAULT_POLICY;
  const remote = options.policy?.remote ?? DEFAULT_POLICY;
  // The default is a constant known to compile (parsing it costs ~2 ms per save).
  if (local !== DEFAULT_POLICY) validatePolicy(local);
  if (selected.size === 0) {
    throw new CryptoTensorsError(
      "ERR_NOTHING_TO_ENCRYPT",
      layout.length === 0
        ? "there is no tensor to encrypt: an encrypted file needs at least one tensor"
        : "encryption.tensors selects no tensor: nothing would be encrypted",
    );
  }

  const chosen = layout.filter(({ name }) => selected.has(name));
  const dataKeys = generateDataKeys(algorithm, chosen.length);
  const master: MasterAccess =
    encKey instanceof HeldKey ? encKey.masterAccess() : rawMasterAccess(encKey, "encKey");
  // A provider's wrap is a remote call whose output lengths are its own: done now, so that a
  // failing provider fails the save before any byte is written. A key here (AES-GCM or
  // ChaCha20-Poly1305 of a key-length data key: same-length ciphertext, 12-byte IV, 16-byte tag;
  // ~2-10 ms for 310 keys) is wrapped later, while the data goes out (wrapKeys).
  const deferred = !(encKey instanceof HeldKey);
  let wrappedKeys: Awaited<ReturnType<MasterAccess["wrap"]>>;
  try {
    // One call for all data keys: a provider that keeps the master key wraps them in one batch.
    wrappedKeys = deferred
      ? dataKeys.map((dataKey) => ({
          wrappedKey: Buffer.alloc(dataKey.length),
          keyIv: Buffer.alloc(IV_LENGTH),
          keyTag: Buffer.alloc(TAG_LENGTH),
        }))
      : await master.wrap(algorithm, dataKeys);
  } catch (error) {
    for (const dataKey of dataKeys) dataKey.fill(0);
    throw error;
  }
  const slots = new Map<string, SealedSlot>();
  const baseIvs =
    chunkSize === null
      ? null
      : randomBaseIvs(
          chosen.map((t) => chunkCount(t.dataOffsets[1] - t.dataOffsets[0], chunkSize)),
        );
  for (const [index, { name, dataOffsets }] of chosen.entries()) {
    const length = dataOffsets[1] - dataOffsets[0];
    const dataKey = dataKeys[index] as Buffer;
    const wrapped = wrappedKeys[index] as (typeof wrappedKeys)[number];
    const entry: EncryptionEntry =
      chunkSize === null
        ? // v1 empty tensors carry no AEAD: iv and tag are written empty (§3.5).
          {
            ...wrapped,
            iv: length === 0 ? Buffer.alloc(0) : randomBytes(IV_LENGTH),
            tag: Buffer.alloc(length === 0 ? 0 : TAG_LENGTH),
          }
        : {
            ...wrapped,
            baseIv: baseIvs?.[index] as Buffer,
            tags: Buffer.alloc(chunkCount(length, chunkSize) * TAG_LENGTH),
          };
    slots.set(name, { name, dataKey, entry });
  }
  const cryptoKeys: CryptoKeysHeader = {
    version,
    chunkSize,
    explicitChunkSize: chunkSize !== null,
    enc: { kty: "oct", alg: encKey.alg, ...ids(encKey) },
    sign: { kty: "okp", alg: signKey.alg, ...ids(signKey) },
  };
  let wrapping: Promise<void> | null = deferred ? null : Promise.resolve();
  const entries = [...slots.values()].map((slot) => slot.entry);
  const wrapKeys = async (): Promise<void> => {
    const wrapped = await master.wrap(algorithm, dataKeys);
    for (const [index, entry] of entries.entries()) {
      const fields = wrapped[index];
      if (
        !fields ||
        fields.wrappedKey.length !== entry.wrappedKey.length ||
        fields.keyIv.length !== entry.keyIv.length ||
        fields.keyTag.length !== entry.keyTag.length
      ) {
        throw new CryptoTensorsError(
          "ERR_INTERNAL",
          "a wrapped data key does not have the length the draft header was built with",
        );
      }
      Object.assign(entry, fields);
    }
  };
  return {
    algorithm,
    chunkSize,
    version,
    signer:
      signKey instanceof HeldKey ? signKey.signerAccess() : rawSignerAccess(signKey, "signKey"),
    slots,
    cryptoKeysText: serializeCryptoKeys(cryptoKeys),
    policyText: serializePolicy({ local, remote }),
    wrapKeys: () => {
      wrapping ??= wrapKeys();
      return wrapping;
    },
  };
}

/**
 * The `__encryption__` text of the plan; with `draft`, a stand-in of exactly its final length
 * (base64 values as runs of "A"), built before the data is written at a fraction of the cost.
 */
export function encryptionText(plan: SealPlan, options: { draft?: boolean } = {}): string {
  return serializeEncryption(
    [...plan.slots.values()].map((slot) => [slot.name, slot.entry] as [string, EncryptionEntry]),
    plan.version,
    options,
  );
}

export function wipeSealPlan(plan: SealPlan | null): void {
  if (!plan) return;
  for (const slot of plan.slots.values()) slot.dataKey.fill(0);
}

function ids(key: { kid?: string; jku?: string }): { kid?: string; jku?: string } {
  return {
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...(key.jku === undefined ? {} : { jku: key.jku }),
  };
}

function selectTensors(filter: readonly string[] | undefined, names: string[]): Set<string> {
  if (filter === undefined) return new Set(names);
  if (!Array.isArray(filter) || !filter.every((n) => typeof n === "string")) {
    throw new TypeError("encryption.tensors must be an array of tensor names");
  }
  const present = new Set(names);
  const missing = filter.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new CryptoTensorsError(
      "ERR_TENSOR_NOT_FOUND",
      `encryption.tensors names ${missing.length} tensor(s) the file does not have: ${missing
        .slice(0, 5)
        .map((n) => JSON.stringify(n).slice(0, 100))
        .join(", ")}${missing.length > 5 ? ", …" : ""}; check the names (see names() or inspect)`,
    );
  }
  return new Set(filter);
}

/**
 * @internal The encryption settings for one shard of a model: the tensor filter narrowed to the
 * shard's tensors, after checking that every filtered name is a tensor of the whole model.
 *
 * @example
 * ```ts
 * const perShard = shardEncryption(options.encryption, allNames, shard.names);
 * ```
 */
export function shardEncryption(
  encryption: EncryptionOptions,
  modelNames: readonly string[],
  shardNames: readonly string[],
): EncryptionOptions {
  if (encryption.tensors === undefined) return encryption;
  selectTensors(encryption.tensors, [...modelNames]);
  const inShard = new Set(shardNames);
  return { ...encryption, tensors: encryption.tensors.filter((n) => inShard.has(n)) };
}

function parseVersion(version: EncryptionOptions["version"]): "1" | "2" {
  if (version === undefined) return "2";
  if (version === 1 || version === "1") return "1";
  if (version === 2 || version === "2") return "2";
  throw new CryptoTensorsError(
    "ERR_UNSUPPORTED_VERSION",
    `format version must be "1" or "2", got ${JSON.stringify(version)}`,
  );
}

function parseChunkSize(chunkSize: number | undefined): number {
  if (chunkSize === undefined) return DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new RangeError(
      `chunkSize must be a positive integer number of bytes, got ${String(chunkSize)}`,
    );
  }
  return chunkSize;
}

function asMasterKey(value: unknown): MasterKey | HeldKey {
  if (value instanceof HeldKey) return value;
  const key = isParsed(value) ? value : parseJwk(value);
  if (key.kind !== "master") {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      'encryption.encKey must be a symmetric key (kty "oct" with k)',
    );
  }
  return key;
}

function asSigningKey(value: unknown): SigningKey | HeldKey {
  if (value instanceof HeldKey) {
    if (value.kind !== "sign")
      throw new CryptoTensorsError("ERR_KEY_INVALID", "encryption.signKey is a held master key");
    return value;
  }
  const key = isParsed(value) ? value : parseJwk(value);
  if (key.kind !== "sign" || !key.privateKey) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      'encryption.signKey must be an Ed25519 private key (kty "okp" with d and x)',
    );
  }
  return key;
}

function isParsed(value: unknown): value is MasterKey | SigningKey {
  return (
    typeof value === "object" &&
    value !== null &&
    "kind" in value &&
    Buffer.isBuffer(
      (value as { key?: unknown; publicKey?: unknown }).key ??
        (value as { publicKey?: unknown }).publicKey,
    )
  );
}
