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
  const entries = new Map<string, EncryptionEntry>();
  ENTRY.lastIndex = 1;
  for (;;) {
    const m = ENTRY.exec(text);
    if (m === null) return null;
    const name = m[1] as string;
    if (entries.has(name)) return null; // the strict parser names the repeated key
    const wrappedKey = m[2] as string;
    const keyIv = m[3] as string;
    const keyTag = m[4] as string;
    const iv = m[5];
    const tag = m[6];
    const baseIv = m[7];
    const tags = m[8];
    // One decode per entry instead of one per field (issue 13: 310 entries of 5 fields): the
    // fields of an entry are canonical (length a multiple of 4, unused bits zero, checked by
    // decodedLength), so with each "=" read as "A" (zero bits) every field decodes to whole
    // 3-byte groups whose first decodedLength bytes are its value, and the fields can be
    // decoded as one string. A field whose length is not canonical returns -1: strict path.
    const joined = `${wrappedKey}${keyIv}${keyTag}${iv ?? ""}${tag ?? ""}${baseIv ?? ""}${tags ?? ""}`;
    const groups = (joined.length / 4) * 3;
    if (joined.length % 4 !== 0) return null;
    if (groups > 0 && slab.write(joined.replace(PADDING, "A"), used, groups, "base64") !== groups)
      return null;
    let at = used;
    used += groups;
    const view = (field: string): Buffer | null => {
      const length = decodedLength(field);
      if (length < 0) return null;
      const bytes = slab.subarray(at, at + length);
      at += (field.length / 4) * 3;
      return bytes;
    };
    const entry = {
      wrappedKey: view(wrappedKey),
      keyIv: view(keyIv),
      keyTag: view(keyTag),
    } as EncryptionEntry;
    if (entry.wrappedKey === null || entry.keyIv === null || entry.keyTag === null) return null;
    if (iv !== undefined) {
      const ivBytes = view(iv);
      const tagBytes = view(tag as string);
      if (ivBytes === null || tagBytes === null) return null;
      entry.iv = ivBytes;
      entry.tag = tagBytes;
    }
    if (baseIv !== undefined) {
      const baseIvBytes = view(baseIv);
      const tagsBytes = view(tags as string);
      if (baseIvBytes === null || tagsBytes === null) return null;
      entry.baseIv = baseIvBytes;
      entry.tags = tagsBytes;
    }
    entries.set(name, entry);
    if (m[9] === "}") return ENTRY.lastIndex === text.length ? entries : null;
  }
}

/** Every "=" of the joined fields of one entry (see scanEncryption). */
const PADDING = /=/g;
