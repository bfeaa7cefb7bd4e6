// The reserved `__metadata__` entries `__crypto_keys__` and `__policy__` (FORMAT.md §2.1, §2.3);
// `__encryption__` lives in reserved-encryption.ts and is re-exported here. Parsing follows the
// reference's checks and order; serializing reproduces its bytes exactly (they are signed).
import { CryptoTensorsError } from "../errors.js";
import { isEd25519, parseAlgorithm } from "./algorithms.js";
import { DEFAULT_CHUNK_SIZE } from "./chunks.js";
import {
  asObject,
  jsonText,
  optionalString,
  parseJsonAs,
  parseObject,
  type JsonObject,
} from "./json-fields.js";
import { PLAINTEXT_DIGESTS_KEY } from "./plaintext-digests.js";
import { quoteShort } from "./quote.js";

export {
  parseEncryption,
  serializeEncryption,
  type EncryptionEntry,
} from "./reserved-encryption.js";

/** Metadata key of the key descriptors (§2.1), e.g. `metadata.get(CRYPTO_KEYS_KEY)`. */
export const CRYPTO_KEYS_KEY = "__crypto_keys__";
/** Metadata key of the wrapped data keys; its presence makes a file encrypted (§2, §2.2). */
export const ENCRYPTION_KEY = "__encryption__";
/** Metadata key of the SHA-256 of each plaintext tensor of a partially encrypted file (ours). */
export { PLAINTEXT_DIGESTS_KEY };
/** Metadata key of the policy (§2.3). */
export const POLICY_KEY = "__policy__";
/** Metadata key of the header signature (§2.4); it is left out of the signed bytes. */
export const SIGNATURE_KEY = "__signature__";

/**
 * Every reserved CryptoTensors metadata key, in header order. User metadata may not use them.
 *
 * @example
 * ```ts
 * RESERVED_KEYS.includes("__policy__"); // true
 * ```
 */
export const RESERVED_KEYS = [
  CRYPTO_KEYS_KEY,
  ENCRYPTION_KEY,
  PLAINTEXT_DIGESTS_KEY,
  POLICY_KEY,
  SIGNATURE_KEY,
] as const;

/**
 * True for a reserved CryptoTensors metadata key.
 *
 * @example
 * ```ts
 * isReservedKey("__signature__"); // true
 * isReservedKey("format");        // false
 * ```
 */
export function isReservedKey(key: string): boolean {
  return (RESERVED_KEYS as readonly string[]).includes(key);
}

/** The policy written when none is given, for both `local` and `remote` (§2.3). */
export const DEFAULT_POLICY = "package model\nallow = true";

/** The public part of a key as the header names it: `kty`, `alg` (verbatim), `kid`, `jku`. */
export interface KeyDescriptor {
  kty: "oct" | "okp";
  alg: string;
  kid?: string;
  jku?: string;
}

/** A parsed `__crypto_keys__`. */
export interface CryptoKeysHeader {
  version: "1" | "2";
  /** Effective chunk size: the explicit `chunk_size`, else 2 MiB for `"2"`, else null (whole). */
  chunkSize: number | null;
  /** Whether the header itself held `chunk_size`. */
  explicitChunkSize: boolean;
  enc: KeyDescriptor;
  sign: KeyDescriptor;
}

/** A parsed `__policy__`: two Rego module texts. */
export interface PolicyHeader {
  local: string;
  remote: string;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Parses `__crypto_keys__` in the reference's order: JSON (`ERR_CRYPTO_KEYS_INVALID`), `version`
 * missing or not a string (`ERR_MISSING_VERSION`, also when the JSON is not an object), not
 * `"1"`/`"2"` (`ERR_UNSUPPORTED_VERSION`), `chunk_size` not a positive integer
 * (`ERR_CRYPTO_KEYS_INVALID`), then `enc` and `sign` (`ERR_CRYPTO_KEYS_INVALID` for structure,
 * `ERR_INVALID_ALGORITHM` for an empty or unknown `alg`). A descriptor holding `k`, `x` or `d` is
 * refused: secrets never belong in a header.
 *
 * @example
 * ```ts
 * parseCryptoKeys('{"enc":{"alg":"aes256gcm","kty":"oct"},"sign":{"alg":"ed25519","kty":"okp"},"version":"2"}');
 * // { version: "2", chunkSize: 2097152, explicitChunkSize: false, enc: {...}, sign: {...} }
 * ```
 */
export function parseCryptoKeys(text: string): CryptoKeysHeader {
  const root = asObject(parseJsonAs(text, "ERR_CRYPTO_KEYS_INVALID", CRYPTO_KEYS_KEY));
  const version = root?.get("version");
  if (root === undefined || version === undefined || version.type !== "string") {
    throw new CryptoTensorsError(
      "ERR_MISSING_VERSION",
      `${CRYPTO_KEYS_KEY} has no string "version"`,
    );
  }
  if (version.value !== "1" && version.value !== "2") {
    throw new CryptoTensorsError(
      "ERR_UNSUPPORTED_VERSION",
      `${CRYPTO_KEYS_KEY} version ${quoteShort(version.value)} is not supported: only "1" and "2" are`,
    );
  }
  const chunkSize = parseChunkSize(root);
  return {
    version: version.value,
    chunkSize: chunkSize ?? (version.value === "2" ? DEFAULT_CHUNK_SIZE : null),
    explicitChunkSize: chunkSize !== null,
    enc: parseDescriptor(root.get("enc"), "enc", "oct"),
    sign: parseDescriptor(root.get("sign"), "sign", "okp"),
  };
}

function parseChunkSize(root: JsonObject): number | null {
  const value = root.get("chunk_size");
  if (value === undefined) return null;
  // serde's as_u64: a JSON integer literal (no fraction, exponent or sign) that fits 64 bits.
  if (
    value.type !== "number" ||
    !/^[0-9]+$/.test(value.raw) ||
    BigInt(value.raw) > U64_MAX ||
    BigInt(value.raw) === 0n
  ) {
    throw new CryptoTensorsError(
      "ERR_CRYPTO_KEYS_INVALID",
      `${CRYPTO_KEYS_KEY}.chunk_size must be a positive integer`,
    );
  }
  // Above 2^53 a chunk is larger than any file, so the clamped value decodes identically.
  const size = BigInt(value.raw);
  return size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
}

function parseDescriptor(
  value: ReturnType<JsonObject["get"]>,
  role: "enc" | "sign",
  kty: "oct" | "okp",
): KeyDescriptor {
  const where = `${CRYPTO_KEYS_KEY}.${role}`;
  const invalid = (what: string): CryptoTensorsError =>
    new CryptoTensorsError("ERR_CRYPTO_KEYS_INVALID", `${where} ${what}`);
  const obj = asObject(value);
  if (obj === undefined) throw invalid("must be a JSON object");
  const ktyValue = obj.get("kty");
  if (
    ktyValue === undefined ||
    ktyValue.type !== "string" ||
    (ktyValue.value !== "oct" && ktyValue.value !== "okp")
  ) {
    throw invalid(`.kty must be "oct" or "okp" (lowercase)`);
  }
  if (ktyValue.value !== kty)
    throw invalid(`.kty must be "${kty}" for the ${role === "enc" ? "encryption" : "signing"} key`);
  const alg = obj.get("alg");
  if (alg === undefined || alg.type !== "string") throw invalid(".alg must be a string");
  const descriptor: KeyDescriptor = { kty, alg: alg.value };
  for (const field of ["kid", "jku"] as const) {
    const member = optionalString(obj, field);
    if (member.kind === "wrong-type") throw invalid(`.${field} must be a string`);
    if (member.kind === "string") descriptor[field] = member.value;
  }
  for (const secret of ["k", "x", "d"]) {
    // The reference loader fails on these too (it refuses to overwrite an already-set key).
    if (optionalString(obj, secret).kind !== "absent") {
      throw invalid(`holds key material ("${secret}"); a header must never contain keys`);
    }
  }
  checkDescriptorAlg(kty, alg.value, where);
  return descriptor;
}

// The reference validates alg the same way on load (FromHeader) and save (ForCreation): it must be
// non-empty and name an algorithm of the key's type.
function checkDescriptorAlg(kty: "oct" | "okp", alg: string, where: string): void {
  if (alg === "") throw new CryptoTensorsError("ERR_INVALID_ALGORITHM", `${where}.alg is empty`);
  if (kty === "oct") {
    parseAlgorithm(alg);
  } else if (!isEd25519(alg)) {
    throw new CryptoTensorsError(
      "ERR_INVALID_ALGORITHM",
      `${where}.alg ${quoteShort(alg)} is not a signature algorithm: use ed25519`,
    );
  }
}

function serializeDescriptor(d: KeyDescriptor, where: string): string {
  // serde_json's map order: alg, jku, kid, kty (absent kid/jku are omitted).
  if (d.kty !== "oct" && d.kty !== "okp") throw new TypeError('kty must be "oct" or "okp"');
  checkDescriptorAlg(d.kty, d.alg, where);
  let out = `{"alg":${jsonText(d.alg, "alg")}`;
  if (d.jku !== undefined) out += `,"jku":${jsonText(d.jku, "jku")}`;
  if (d.kid !== undefined) out += `,"kid":${jsonText(d.kid, "kid")}`;
  return `${out},"kty":"${d.kty}"}`;
}

/**
 * Serializes `__crypto_keys__` exactly as the reference: keys sorted at every level, no
 * whitespace, `chunk_size` written whenever the effective chunk size is not null (for headers we
 * create: exactly for version "2"; a rewrapped `"1"` header with `chunk_size` keeps it, as in the
 * reference). Secrets are never written. An empty or unknown `alg` throws `ERR_INVALID_ALGORITHM`
 * (a key loaded with `alg: ""` cannot be used to save: the reference could not read the file).
 *
 * @example
 * ```ts
 * serializeCryptoKeys({ version: "2", chunkSize: 4, explicitChunkSize: true,
 *   enc: { kty: "oct", alg: "aes256gcm", kid: "enc-1" }, sign: { kty: "okp", alg: "ed25519", kid: "sign-1" } });
 * // '{"chunk_size":4,"enc":{"alg":"aes256gcm","kid":"enc-1","kty":"oct"},"sign":{…},"version":"2"}'
 * ```
 */
export function serializeCryptoKeys(h: CryptoKeysHeader): string {
  if (h.version !== "1" && h.version !== "2") throw new RangeError('version must be "1" or "2"');
  if (h.chunkSize !== null && (!Number.isSafeInteger(h.chunkSize) || h.chunkSize <= 0)) {
    throw new RangeError("chunkSize must be a positive integer or null");
  }
  const chunk = h.chunkSize === null ? "" : `"chunk_size":${h.chunkSize},`;
  return `{${chunk}"enc":${serializeDescriptor(h.enc, `${CRYPTO_KEYS_KEY}.enc`)},"sign":${serializeDescriptor(h.sign, `${CRYPTO_KEYS_KEY}.sign`)},"version":"${h.version}"}`;
}

/**
 * Parses `__policy__`: an object with string `local` and `remote` (both required; other members
 * ignored). Anything else throws `ERR_POLICY_MISSING`.
 *
 * @example
 * ```ts
 * parsePolicy('{"local":"package model\\nallow = true","remote":"package model\\nallow = true"}');
 * ```
 */
export function parsePolicy(text: string): PolicyHeader {
  const obj = parseObject(text, "ERR_POLICY_MISSING", POLICY_KEY);
  const local = obj.get("local");
  const remote = obj.get("remote");
  if (local?.type !== "string" || remote?.type !== "string") {
    throw new CryptoTensorsError(
      "ERR_POLICY_MISSING",
      `${POLICY_KEY} needs string "local" and "remote" members`,
    );
  }
  return { local: local.value, remote: remote.value };
}

/**
 * Serializes `__policy__` as the reference: `{"local":…,"remote":…}` in that order.
 *
 * @example
 * ```ts
 * serializePolicy({ local: DEFAULT_POLICY, remote: DEFAULT_POLICY });
 * ```
 */
export function serializePolicy(p: PolicyHeader): string {
  return `{"local":${jsonText(p.local, "policy local")},"remote":${jsonText(p.remote, "policy remote")}}`;
}
