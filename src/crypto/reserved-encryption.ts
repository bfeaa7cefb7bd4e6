// The `__encryption__` entry (FORMAT.md §2.2): tensor name → wrapped data key and mode fields,
// all standard base64. Everything is decoded here, eagerly, as the reference does at open (its
// error class for bad base64 is KeyUnwrap): a malformed field fails before any key is unwrapped.
import { CryptoTensorsError } from "../errors.js";
import { decodeBase64, encodeBase64 } from "./base64.js";
import { scanEncryption } from "./encryption-scan.js";
import { asObject, jsonText, optionalString, parseObject } from "./json-fields.js";
import { quoteShort } from "./quote.js";

/** One decoded `__encryption__` entry; mode fields are whichever the file holds. */
export interface EncryptionEntry {
  wrappedKey: Buffer;
  keyIv: Buffer;
  keyTag: Buffer;
  /** v1 (whole tensor) IV; empty for an empty tensor. */
  iv?: Buffer;
  /** v1 tag; empty for an empty tensor. */
  tag?: Buffer;
  /** v2 base IV. */
  baseIv?: Buffer;
  /** v2 concatenated chunk tags. */
  tags?: Buffer;
}

const WHAT = "__encryption__";
const KEY_FIELDS = [
  ["wrapped_key", "wrappedKey"],
  ["key_iv", "keyIv"],
  ["key_tag", "keyTag"],
] as const;
// The reference's struct order, which is also its serialization order.
const MODE_FIELDS = [
  ["iv", "iv"],
  ["tag", "tag"],
  ["base_iv", "baseIv"],
  ["tags", "tags"],
] as const;
// Key fields first (required), then mode fields; indexed loops below, because a header has one
// entry per tensor and, until V8 optimizes parseEncryption, every `for (const [a, b] of ...)`
// allocates an iterator and its results (issue 13: the open path's short-lived heap).
const ALL_FIELDS = [...KEY_FIELDS, ...MODE_FIELDS] as const;

/**
 * Parses `__encryption__` into a map in header order. Not an object, an entry that is not an
 * object, a missing or non-string `wrapped_key`/`key_iv`/`key_tag`, a non-string mode field, a
 * repeated name, or any field that is not strict standard base64 throws `ERR_ENCRYPTION_INVALID`.
 * Mode fields may be absent (missing or `null`): that is found out at decryption. Unknown fields
 * are ignored. Lengths are checked when the key is unwrapped / the data decrypted.
 *
 * @example
 * ```ts
 * const entries = parseEncryption(metadata.get("__encryption__"));
 * entries.get("weight")?.baseIv; // Buffer of 12 bytes
 * ```
 */
export function parseEncryption(text: string): Map<string, EncryptionEntry> {
  // The canonical form every writer produces, read fast; anything else (or anything wrong) gets
  // the strict parser, whose result the fast one equals.
  return (typeof text === "string" ? scanEncryption(text) : null) ?? parseEncryptionStrictly(text);
}

/**
 * @internal {@link parseEncryption} without its fast path for the canonical form: the checks and
 * errors that define it (the fast path's tests compare both).
 *
 * @example
 * ```ts
 * parseEncryptionStrictly('{"w":{"wrapped_key":"","key_iv":"","key_tag":""}}').get("w");
 * ```
 */
export function parseEncryptionStrictly(text: string): Map<string, EncryptionEntry> {
  const root = parseObject(text, "ERR_ENCRYPTION_INVALID", WHAT);
  const entries = new Map<string, EncryptionEntry>();
  root.forEach((value, name) => {
    const where = `${WHAT} entry ${quoteShort(name)}`;
    const obj = asObject(value);
    if (obj === undefined)
      throw new CryptoTensorsError("ERR_ENCRYPTION_INVALID", `${where} must be a JSON object`);
    const decoded: Partial<
      Record<(typeof KEY_FIELDS)[number][1] | (typeof MODE_FIELDS)[number][1], Buffer>
    > = {};
    for (let i = 0; i < ALL_FIELDS.length; i++) {
      const fieldAndProp = ALL_FIELDS[i] as (typeof ALL_FIELDS)[number];
      const field = fieldAndProp[0];
      const prop = fieldAndProp[1];
      const member = optionalString(obj, field);
      const required = i < KEY_FIELDS.length;
      if (member.kind === "wrong-type" || (member.kind === "absent" && required)) {
        throw new CryptoTensorsError(
          "ERR_ENCRYPTION_INVALID",
          `${where} ${required ? "needs a" : "has a non-string"} "${field}"${required ? " string" : ""}`,
        );
      }
      if (member.kind === "string")
        decoded[prop] = decodeBase64(
          member.value,
          "ERR_ENCRYPTION_INVALID",
          `${where} field "${field}"`,
        );
    }
    const { wrappedKey, keyIv, keyTag } = decoded;
    if (wrappedKey === undefined || keyIv === undefined || keyTag === undefined) {
      throw new CryptoTensorsError("ERR_INTERNAL", `${where}: key fields were not decoded`);
    }
    const entry: EncryptionEntry = { wrappedKey, keyIv, keyTag };
    for (let i = 0; i < MODE_FIELDS.length; i++) {
      const prop = (MODE_FIELDS[i] as (typeof MODE_FIELDS)[number])[1];
      const bytes = decoded[prop];
      if (bytes !== undefined) entry[prop] = bytes;
    }
    entries.set(name, entry);
  });
  return entries;
}

/**
 * Serializes `__encryption__` exactly as the reference: names sorted by UTF-8 bytes, fields
 * `wrapped_key, key_iv, key_tag`, then the mode fields present in the order `iv, tag, base_iv,
 * tags` (so v1 writes `iv, tag` — `""` for an empty tensor — and v2 `base_iv, tags`).
 * With `draft`, every base64 value is a run of "A" of the same length and the entries keep the
 * given order: a text of exactly the final one's length (also once JSON-escaped into a header),
 * for a writer that lays out the file before the values exist, at a fraction of the cost.
 * `layout` is the layout the data was sealed with — `"1"` whole, `"2"` chunked (for a rewrapped
 * `"1"` header that has `chunk_size`, pass `"2"`) — and each entry must hold its fields (a
 * TypeError otherwise: that is a writer bug).
 *
 * @example
 * ```ts
 * serializeEncryption([["weight", { wrappedKey, keyIv, keyTag, baseIv, tags }]], "2");
 * // '{"weight":{"wrapped_key":"…","key_iv":"…","key_tag":"…","base_iv":"…","tags":"…"}}'
 * ```
 */
export function serializeEncryption(
  entries: Map<string, EncryptionEntry> | ReadonlyArray<readonly [string, EncryptionEntry]>,
  layout: "1" | "2",
  options: { draft?: boolean } = {},
): string {
  if (layout !== "1" && layout !== "2") throw new RangeError('layout must be "1" or "2"');
  const draft = options.draft === true;
  const list = [...entries].map(([name, entry]) => ({
    name,
    bytes: draft ? null : Buffer.from(name, "utf8"),
    entry,
  }));
  // A draft keeps the given order: the order changes no length.
  if (!draft) list.sort((a, b) => Buffer.compare(a.bytes as Buffer, b.bytes as Buffer));
  const parts: string[] = [];
  let previous: Buffer | null = null;
  for (let i = 0; i < list.length; i++) {
    const { name, bytes, entry } = list[i] as (typeof list)[number];
    if (bytes !== null && previous?.equals(bytes))
      throw new TypeError(`tensor ${quoteShort(name)} has two entries`);
    previous = bytes;
    const needed = layout === "1" ? (["iv", "tag"] as const) : (["baseIv", "tags"] as const);
    for (const prop of needed) {
      if (!(entry[prop] instanceof Uint8Array)) {
        throw new TypeError(
          `entry ${quoteShort(name)} lacks ${prop}, needed by layout "${layout}"`,
        );
      }
    }
    let fields = "";
    for (let f = 0; f < ALL_FIELDS.length; f++) {
      const [field, prop] = ALL_FIELDS[f] as (typeof ALL_FIELDS)[number];
      const value = entry[prop];
      if (value === undefined) continue;
      // Base64 needs no JSON escaping, so a run of "A" of its length escapes to the same length.
      const text = draft ? "A".repeat(4 * Math.ceil(value.length / 3)) : encodeBase64(value);
      fields += `${fields ? "," : ""}"${field}":"${text}"`;
    }
    parts.push(`${jsonText(name, "tensor name")}:{${fields}}`);
  }
  return `{${parts.join(",")}}`;
}
