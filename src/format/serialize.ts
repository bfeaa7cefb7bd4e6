// Writing safetensors headers byte-identical to the reference writer (FORMAT.md §1.1–§1.4):
// layout order, compact JSON with serde's escaping (§4.1), sorted metadata, space padding.
import { CryptoTensorsError } from "../errors.js";
import { dtypeRank, isDtype, type Dtype } from "./dtype.js";
import { MAX_HEADER_SIZE, PREFIX_LENGTH } from "./header.js";
import { quoteForMessage } from "./json.js";
import { tensorByteLength } from "./size.js";

/** A tensor to lay out: what the caller wants written. */
export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

/** A tensor with its place in the data section: `[begin, end)` relative to the data start. */
export interface LayoutEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  dataOffsets: [number, number];
}

/** Metadata to write: pairs or a plain record of strings. */
export type MetadataInput =
  | ReadonlyArray<readonly [string, string]>
  | Readonly<Record<string, string>>;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/**
 * Compares two strings by their UTF-8 bytes (= code point order), the order the reference sorts
 * names and metadata keys in. Differs from `<` on UTF-16 units for characters above U+FFFF vs
 * U+E000–U+FFFF.
 *
 * @example
 * ```ts
 * ["\u{1F600}", "\uFF01"].sort(compareUtf8); // ["\uFF01", "\u{1F600}"]
 * ```
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800–DFFF) encode code points above FFFF, so they sort after E000–FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A JSON string literal with the reference's escaping (FORMAT.md §4.1): `"`, `\` and U+0000–U+001F
 * escaped (`\b \t \n \f \r`, others `\u00xx`), everything else raw. Strings with lone surrogates
 * cannot be UTF-8 and are refused (TypeError).
 *
 * @example
 * ```ts
 * jsonString('a"/\u0001é'); // '"a\\"/\\u0001é"'
 * ```
 */
export function jsonString(s: string): string {
  if (typeof s !== "string") throw new TypeError("jsonString expects a string");
  if (LONE_SURROGATE.test(s))
    throw new TypeError(`string ${quoteForMessage(s)} has a lone surrogate and cannot be UTF-8`);
  // JSON.stringify of a string escapes exactly the same set, with the same spellings, as serde_json.
  return JSON.stringify(s);
}

/**
 * Orders tensors like the reference writer (dtype rank descending, then name by UTF-8 bytes) and
 * assigns contiguous offsets from 0. Throws `ERR_INVALID_TENSOR` on duplicate or non-UTF-8 names,
 * `ERR_MISALIGNED_SLICE`/`ERR_VALIDATION_OVERFLOW` for impossible sizes; bad dtypes or shapes are
 * TypeError/RangeError.
 *
 * @example
 * ```ts
 * planLayout([{ name: "w", dtype: "F16", shape: [2, 2] }, { name: "b", dtype: "F32", shape: [2] }]);
 * // [{ name: "b", …, dataOffsets: [0, 8] }, { name: "w", …, dataOffsets: [8, 16] }]
 * ```
 */
export function planLayout(tensors: ReadonlyArray<TensorSpec>): LayoutEntry[] {
  const seen = new Set<string>();
  const specs = tensors.map((t) => {
    checkSpec(t);
    if (seen.has(t.name) || t.name === "__metadata__") {
      throw new CryptoTensorsError(
        "ERR_INVALID_TENSOR",
        `tensor name ${quoteForMessage(t.name)} is given twice or is the reserved "__metadata__"; names must be unique`,
      );
    }
    seen.add(t.name);
    return {
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      bytes: tensorByteLength(t.dtype, t.shape),
    };
  });
  specs.sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareUtf8(a.name, b.name));
  let pos = 0;
  return specs.map(({ name, dtype, shape, bytes }) => {
    const begin = pos;
    pos += bytes;
    if (!Number.isSafeInteger(pos)) {
      throw new CryptoTensorsError(
        "ERR_VALIDATION_OVERFLOW",
        "the tensors together exceed 2^53−1 bytes; write fewer or smaller tensors",
      );
    }
    return { name, dtype, shape, dataOffsets: [begin, pos] };
  });
}

/**
 * The file prefix for a layout: 8-byte little-endian N, the compact header JSON, then spaces up to
 * a multiple of 8 (FORMAT.md §1.1). `__metadata__` comes first whenever `metadata` is given (even
 * empty), keys sorted by UTF-8 bytes; tensors follow in the given order with fields `dtype`,
 * `shape`, `data_offsets`. The layout must be contiguous from 0 in that order with byte lengths
 * matching dtype × shape (`ERR_INVALID_TENSOR`); a header above 100,000,000 bytes is
 * `ERR_HEADER_TOO_LARGE`.
 *
 * @example
 * ```ts
 * const layout = planLayout([{ name: "x", dtype: "U8", shape: [3] }]);
 * const prefix = serializeHeader(layout, { format: "pt" });
 * // file = prefix ‖ the 3 data bytes
 * ```
 */
export function serializeHeader(
  layout: ReadonlyArray<LayoutEntry>,
  metadata?: MetadataInput | null,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined && metadata !== null) {
    const pairs = metadataPairs(metadata).sort((a, b) => compareUtf8(a[0], b[0]));
    parts.push(
      `"__metadata__":{${pairs.map(([k, v]) => `${jsonString(k)}:${jsonString(v)}`).join(",")}}`,
    );
  }
  const names = new Set<string>();
  let pos = 0;
  for (const t of layout) {
    checkSpec(t);
    const what = `tensor ${quoteForMessage(t.name)}`;
    if (names.has(t.name) || t.name === "__metadata__") {
      throw new CryptoTensorsError(
        "ERR_INVALID_TENSOR",
        `${what} is given twice or uses the reserved name; names must be unique`,
      );
    }
    names.add(t.name);
    const [begin, end] = t.dataOffsets;
    if (begin !== pos || end - begin !== tensorByteLength(t.dtype, t.shape)) {
      throw new CryptoTensorsError(
        "ERR_INVALID_TENSOR",
        `${what} has data_offsets [${begin}, ${end}], expected [${pos}, ${pos + tensorByteLength(t.dtype, t.shape)}]; use planLayout`,
      );
    }
    pos = end;
    parts.push(
      `${jsonString(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${begin},${end}]}`,
    );
  }
  const json = utf8.encode(`{${parts.join(",")}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_SIZE) {
    throw new CryptoTensorsError(
      "ERR_HEADER_TOO_LARGE",
      `the header would be ${headerLength} bytes, above the ${MAX_HEADER_SIZE}-byte cap readers enforce; split the tensors across several files`,
    );
  }
  const out = new Uint8Array(PREFIX_LENGTH + headerLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, PREFIX_LENGTH);
  out.fill(0x20, PREFIX_LENGTH + json.length);
  return out;
}

function metadataPairs(metadata: MetadataInput): Array<[string, string]> {
  const pairs: Array<[string, string]> = Array.isArray(metadata)
    ? (metadata as ReadonlyArray<readonly [string, string]>).map((p) => {
        if (!Array.isArray(p) || p.length !== 2)
          throw new TypeError("metadata pairs must be [key, value] arrays");
        return [p[0], p[1]];
      })
    : Object.entries(metadata as Readonly<Record<string, string>>);
  const keys = new Set<string>();
  for (const [key, value] of pairs) {
    if (typeof key !== "string" || typeof value !== "string") {
      throw new TypeError(
        `metadata keys and values must be strings (key ${quoteForMessage(String(key))})`,
      );
    }
    if (keys.has(key)) throw new TypeError(`metadata key ${quoteForMessage(key)} is given twice`);
    keys.add(key);
  }
  return pairs;
}

function checkSpec(t: { name: unknown; dtype: unknown; shape: unknown }): void {
  if (typeof t.name !== "string") throw new TypeError("tensor names must be strings");
  if (LONE_SURROGATE.test(t.name)) {
    throw new CryptoTensorsError(
      "ERR_INVALID_TENSOR",
      `tensor name ${quoteForMessage(t.name)} has a lone surrogate and cannot be written as UTF-8`,
    );
  }
  if (typeof t.dtype !== "string" || !isDtype(t.dtype)) {
    throw new TypeError(
      `tensor ${quoteForMessage(t.name)}: ${String(t.dtype)} is not a safetensors dtype`,
    );
  }
  if (
    !Array.isArray(t.shape) ||
    !t.shape.every((d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0)
  ) {
    throw new RangeError(
      `tensor ${quoteForMessage(t.name)}: shape must be an array of non-negative safe integers`,
    );
  }
}
