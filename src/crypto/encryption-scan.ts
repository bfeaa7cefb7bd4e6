// A fast reading of `__encryption__` in the one form every writer produces (ours and the
// reference's serializeEncryption: no whitespace, fields in the order wrapped_key, key_iv,
// key_tag, iv, tag, base_iv, tags, names without escapes): one regular-expression match per
// entry and every base64 field decoded into one Buffer, instead of a JSON tree, five Maps of
// members and five Buffers per entry (issue 13: 310 entries were half of an encrypted open).
// Anything else — whitespace, other orders, unknown or null fields, escapes in a name, a
// repeated name, non-canonical base64 — returns null, and the strict parser reads the text with
// its exact checks and errors; so for any text, the result is the strict parser's or nothing.
import type { EncryptionEntry } from "./reserved-encryption.js";

/** Standard-alphabet characters then at most two "="; length and trailing bits checked below. */
const B64 = "([A-Za-z0-9+/]*={0,2})";
/**
 * One entry and the character after it ("," or "}"): the name (no quote, backslash or control
 * character, so its text is its value), the three key fields, then v1's iv/tag and v2's
 * base_iv/tags when present, in the serializer's order.
 */
const ENTRY = new RegExp(
  `"([^"\\\\\\u0000-\\u001f]*)":\\{"wrapped_key":"${B64}","key_iv":"${B64}","key_tag":"${B64}"` +
    `(?:,"iv":"${B64}","tag":"${B64}")?(?:,"base_iv":"${B64}","tags":"${B64}")?\\}([,}])`,
  "y",
);

/** Value of a base64 character code; only called on the alphabet (the pattern checked it). */
function sextet(c: number): number {
  if (c >= 0x61) return c - 0x61 + 26; // a-z
  if (c >= 0x41) return c - 0x41; // A-Z
  if (c >= 0x30) return c - 0x30 + 52; // 0-9
  return c === 0x2b ? 62 : 63; // + /
}

/**
 * Bytes `text` decodes to when it is canonical (length a multiple of 4, the unused bits of the
 * last character before "=" zero); -1 otherwise. The alphabet and the place of "=" are the
 * pattern's.
 */
function decodedLength(text: string): number {
  const length = text.length;
  if (length % 4 !== 0) return -1;
  if (length === 0) return 0;
  if (text.charCodeAt(length - 1) !== 0x3d) return (length / 4) * 3;
  if (text.charCodeAt(length - 2) === 0x3d)
    return (sextet(text.charCodeAt(length - 3)) & 0x0f) === 0 ? (length / 4) * 3 - 2 : -1;
  return (sextet(text.charCodeAt(length - 2)) & 0x03) === 0 ? (length / 4) * 3 - 1 : -1;
}

/**
 * `__encryption__` read from its canonical form, entries in text order, every field a view of
 * one Buffer; null when the text is not in that form (the caller then parses it strictly).
 *
 * @example
 * ```ts
 * const entries = scanEncryption(text) ?? parseStrictly(text);
 * ```
 */
export function scanEncryption(text: string): Map<string, EncryptionEntry> | null {
  if (text.charCodeAt(0) !== 0x7b /* { */) return null;
  // Base64 decodes to at most 3/4 of its length, and the fields are part of the text.
  const slab = Buffer.alloc(Math.floor((text.length / 4) * 3));
  let used = 0;
  let failed = false;
  const field = (value: string): Buffer => {
    const length = decodedLength(value);
    if (length < 0) {
      failed = true;
      return slab.subarray(0, 0);
    }
    const written = length === 0 ? 0 : slab.write(value, used, length, "base64");
    if (written !== length) failed = true;
    const view = slab.subarray(used, used + length);
    used += length;
    return view;
  };
  const entries = new Map<string, EncryptionEntry>();
  ENTRY.lastIndex = 1;
  for (;;) {
    const m = ENTRY.exec(text);
    if (m === null) return null;
    const name = m[1] as string;
    if (entries.has(name)) return null; // the strict parser names the repeated key
    const entry: EncryptionEntry = {
      wrappedKey: field(m[2] as string),
      keyIv: field(m[3] as string),
      keyTag: field(m[4] as string),
    };
    if (m[5] !== undefined) {
      entry.iv = field(m[5]);
      entry.tag = field(m[6] as string);
    }
    if (m[7] !== undefined) {
      entry.baseIv = field(m[7]);
      entry.tags = field(m[8] as string);
    }
    if (failed) return null;
    entries.set(name, entry);
    if (m[9] === "}") return ENTRY.lastIndex === text.length ? entries : null;
  }
}
