// Strict RFC 4648 §4 base64 (standard alphabet, canonical "=" padding), FORMAT.md §3.6.
// Node's own decoder is lenient (it skips whitespace and bad characters, accepts base64url and
// missing padding), so every string is checked here first. The reference's Rust decoder is
// strict in the same way, so a string one of them refuses the other refuses too.
import { CryptoTensorsError, type ErrorCode } from "../errors.js";

// Value of each character of the standard alphabet, -1 for anything else (including "-", "_").
const ALPHABET_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** Standard-alphabet characters, then at most two "=" and nothing after them. */
const ALPHABET_THEN_PADDING = /^[A-Za-z0-9+/]*={0,2}$/;

function valueAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? (ALPHABET_VALUE[c] as number) : -1;
}

/**
 * True when `text` is canonical standard base64: length a multiple of 4, only `A–Z a–z 0–9 + /`,
 * at most two `=` and only at the end, and the unused low bits of the last character zero.
 * The empty string is valid (zero bytes).
 *
 * @example
 * ```ts
 * isStrictBase64("AAE="); // true
 * isStrictBase64("AAF="); // false: non-zero trailing bits
 * ```
 */
export function isStrictBase64(text: string): boolean {
  if (typeof text !== "string" || text.length % 4 !== 0) return false;
  // The alphabet and the place of the padding checked by the regular-expression engine, not per
  // character in JavaScript: a header has thousands of these strings, and V8's optimizing
  // compiler compiled the per-character loop on every open (issue 13, peak RSS).
  if (!ALPHABET_THEN_PADDING.test(text)) return false;
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const dataChars = text.length - padding;
  // The last data character carries 4 (two "=") or 2 (one "=") bits that belong to no byte;
  // a canonical encoder leaves them zero.
  if (padding === 2) return (valueAt(text, dataChars - 1) & 0x0f) === 0;
  if (padding === 1) return (valueAt(text, dataChars - 1) & 0x03) === 0;
  return true;
}

/**
 * Decodes strict standard base64 (see {@link isStrictBase64}) into a fresh, unpooled Buffer, so a
 * caller holding a secret can wipe it with `fill(0)` without touching anyone else's bytes.
 * Anything else throws `CryptoTensorsError(code, "<what> is not valid standard base64 …")`; the
 * message never contains the text, which may be a secret.
 *
 * @example
 * ```ts
 * decodeBase64("oKGio6Slpqeoqaqr", "ERR_ENCRYPTION_INVALID", "key_iv"); // 12 bytes a0..ab
 * decodeBase64("oKGio6Slpqeoqaqr\n", "ERR_ENCRYPTION_INVALID", "key_iv"); // throws
 * ```
 */
export function decodeBase64(text: string, code: ErrorCode, what: string): Buffer {
  if (!isStrictBase64(text)) {
    throw new CryptoTensorsError(
      code,
      `${what} is not valid standard base64 (RFC 4648 alphabet with "=" padding; no whitespace, no base64url)`,
    );
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = Buffer.alloc((text.length / 4) * 3 - padding);
  const written = out.write(text, "base64");
  if (written !== out.length) {
    // Cannot happen for a string that passed the check; fail closed rather than return zeros.
    out.fill(0);
    throw new CryptoTensorsError(
      "ERR_INTERNAL",
      `${what}: base64 decoder wrote ${written} of ${out.length} bytes`,
    );
  }
  return out;
}

/**
 * Encodes bytes as standard base64 with `=` padding (12 bytes → 16 chars, 32 → 44, 64 → 88).
 *
 * @example
 * ```ts
 * encodeBase64(Buffer.from([0xa0, 0xa1, 0xa2])); // "oKGi"
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("encodeBase64 expects a Uint8Array");
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
