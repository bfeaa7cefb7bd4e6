// The three AEAD algorithms of FORMAT.md §3.1 and the Ed25519 signature algorithm name.
import { CryptoTensorsError } from "../errors.js";
import { quoteShort } from "./quote.js";

/** AEAD algorithms of FORMAT.md §3.1, in their canonical (header) spelling. */
export type AeadAlgorithm = "aes128gcm" | "aes256gcm" | "chacha20poly1305";

/** Nonce length of every supported AEAD algorithm, in bytes (FORMAT.md §3.1). */
export const IV_LENGTH = 12;

/** Authentication tag length of every supported AEAD algorithm, in bytes (FORMAT.md §3.1). */
export const TAG_LENGTH = 16;

/**
 * Key length in bytes per algorithm (FORMAT.md §3.1).
 *
 * @example
 * ```ts
 * AEAD_KEY_LENGTHS.aes128gcm; // 16
 * ```
 */
export const AEAD_KEY_LENGTHS: Readonly<Record<AeadAlgorithm, number>> = {
  aes128gcm: 16,
  aes256gcm: 32,
  chacha20poly1305: 32,
};

const NODE_CIPHERS = {
  aes128gcm: "aes-128-gcm",
  aes256gcm: "aes-256-gcm",
  chacha20poly1305: "chacha20-poly1305",
} as const satisfies Record<AeadAlgorithm, string>;

/**
 * Parses an AEAD algorithm name the way the reference does: every `-` is removed and the rest is
 * lowercased, so `AES-256-GCM` and `aes256gcm` are the same algorithm (underscores are not
 * stripped). Unknown names throw `ERR_INVALID_ALGORITHM`.
 *
 * @example
 * ```ts
 * parseAlgorithm("AES-256-GCM"); // "aes256gcm"
 * parseAlgorithm("aes_256_gcm"); // throws CryptoTensorsError ERR_INVALID_ALGORITHM
 * ```
 */
export function parseAlgorithm(alg: string): AeadAlgorithm {
  if (typeof alg !== "string") throw new TypeError("the algorithm name must be a string");
  const normalized = alg.replaceAll("-", "").toLowerCase();
  if (
    normalized === "aes128gcm" ||
    normalized === "aes256gcm" ||
    normalized === "chacha20poly1305"
  ) {
    return normalized;
  }
  throw new CryptoTensorsError(
    "ERR_INVALID_ALGORITHM",
    `unknown encryption algorithm ${quoteShort(alg)}: use aes128gcm, aes256gcm or chacha20poly1305`,
  );
}

/**
 * True when `alg` names the signature algorithm Ed25519; like the reference, the comparison is
 * case-insensitive and nothing is stripped (`Ed25519` yes, `ed-25519` no).
 *
 * @example
 * ```ts
 * isEd25519("ED25519"); // true
 * ```
 */
export function isEd25519(alg: string): boolean {
  return typeof alg === "string" && alg.toUpperCase() === "ED25519";
}

/**
 * Key length in bytes of an AEAD algorithm: 16 for AES-128-GCM, 32 for the other two.
 *
 * @example
 * ```ts
 * keyLength("chacha20poly1305"); // 32
 * ```
 */
export function keyLength(alg: AeadAlgorithm): number {
  const length = AEAD_KEY_LENGTHS[alg];
  if (length === undefined)
    throw new TypeError("unknown AEAD algorithm; parse names with parseAlgorithm()");
  return length;
}

/**
 * The `node:crypto` cipher name of an AEAD algorithm.
 *
 * @example
 * ```ts
 * nodeCipherName("aes256gcm"); // "aes-256-gcm"
 * ```
 */
export function nodeCipherName(
  alg: AeadAlgorithm,
): "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305" {
  const name = NODE_CIPHERS[alg];
  if (name === undefined)
    throw new TypeError("unknown AEAD algorithm; parse names with parseAlgorithm()");
  return name;
}
