// One AEAD call with node:crypto: AES-128/256-GCM or ChaCha20-Poly1305 (RFC 8439), 12-byte
// nonce, 16-byte tag kept separate from the ciphertext, and always an empty AAD (FORMAT.md §3.1;
// §8.1 explains why that is a weakness we must stay compatible with).
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import {
  IV_LENGTH,
  TAG_LENGTH,
  keyLength,
  nodeCipherName,
  type AeadAlgorithm,
} from "./algorithms.js";

/** The single message of every authentication failure, so a caller learns nothing from it. */
export const DECRYPTION_FAILED_MESSAGE =
  "decryption failed: the key is wrong or the data, IV or tag was modified";

/** Ciphertext (same length as the plaintext) and its detached tag. */
export interface Sealed {
  ciphertext: Buffer;
  tag: Buffer;
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function checkKeyAndIv(alg: AeadAlgorithm, key: Uint8Array, iv: Uint8Array): void {
  checkBytes(key, "key");
  checkBytes(iv, "iv");
  const expected = keyLength(alg);
  if (key.length !== expected) {
    throw new CryptoTensorsError(
      "ERR_INVALID_KEY_LENGTH",
      `${alg} needs a ${expected}-byte key, got ${key.length} bytes`,
    );
  }
  if (iv.length !== IV_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_INVALID_IV_LENGTH",
      `${alg} needs a ${IV_LENGTH}-byte IV, got ${iv.length} bytes`,
    );
  }
}

/**
 * Encrypts `plaintext` with empty AAD. Wrong key or IV lengths throw `ERR_INVALID_KEY_LENGTH` /
 * `ERR_INVALID_IV_LENGTH`. Never reuse an IV with the same key.
 *
 * @example
 * ```ts
 * const { ciphertext, tag } = seal("aes256gcm", key32, iv12, Buffer.from("hello"));
 * ```
 */
export function seal(
  alg: AeadAlgorithm,
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Sealed {
  checkKeyAndIv(alg, key, iv);
  checkBytes(plaintext, "plaintext");
  // Both cipher families expose setAAD/getAuthTag; the GCM type describes them for both.
  const cipher = createCipheriv(nodeCipherName(alg) as "aes-256-gcm", key, iv, {
    authTagLength: TAG_LENGTH,
  }) as CipherGCM;
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Decrypts and authenticates `ciphertext` with empty AAD. Every authentication failure — wrong
 * key, modified ciphertext, IV or tag, or a tag that is not exactly 16 bytes — throws one opaque
 * `ERR_DECRYPTION_FAILED`; no plaintext is ever returned unauthenticated. Wrong key or IV
 * lengths throw `ERR_INVALID_KEY_LENGTH` / `ERR_INVALID_IV_LENGTH` (lengths are public).
 *
 * @example
 * ```ts
 * const plaintext = open("aes256gcm", key32, iv12, ciphertext, tag);
 * ```
 */
export function open(
  alg: AeadAlgorithm,
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Buffer {
  checkKeyAndIv(alg, key, iv);
  checkBytes(ciphertext, "ciphertext");
  checkBytes(tag, "tag");
  // Node accepts GCM tags shorter than 16 bytes; a truncated tag must never authenticate.
  if (tag.length !== TAG_LENGTH) throw decryptionFailed();
  const decipher = createDecipheriv(nodeCipherName(alg) as "aes-256-gcm", key, iv, {
    authTagLength: TAG_LENGTH,
  }) as DecipherGCM;
  decipher.setAuthTag(tag);
  const head = decipher.update(ciphertext);
  try {
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    head.fill(0); // unauthenticated plaintext must not linger
    throw decryptionFailed();
  }
}

/**
 * The one opaque decryption error. It carries no cause: which check failed is exactly what an
 * attacker probing a file would like to learn.
 *
 * @example
 * ```ts
 * if (tags.length < 16) throw decryptionFailed();
 * ```
 */
export function decryptionFailed(): CryptoTensorsError {
  return new CryptoTensorsError("ERR_DECRYPTION_FAILED", DECRYPTION_FAILED_MESSAGE);
}
