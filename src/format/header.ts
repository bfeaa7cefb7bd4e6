// Reading a safetensors header: the length prefix and the JSON, with every check of FORMAT.md §1.5
// in the reference's order, plus the stricter rules of issue 2 (duplicate keys rejected, exact
// BigInt arithmetic). Pure: bytes in, a checked ParsedHeader out.
import { CryptoTensorsError } from "../errors.js";
import { isDtype, type Dtype } from "./dtype.js";
import { parseJson, quoteForMessage, type JsonLimits, type JsonValue } from "./json.js";
import { tensorByteLengthBig } from "./size.js";
import type { ParsedHeader, TensorEntry } from "./types.js";

/** Largest header (N of FORMAT.md §1.1) a reader or writer accepts: 100,000,000 bytes. */
export const MAX_HEADER_SIZE = 100_000_000;

/**
 * Limits on what a header may hold, checked while it is parsed so that time and memory stay a
 * small multiple of the header's size (issue 11; `bench/header-limits.mjs` compares with HF
 * safetensors and the reference). Each is far above any published checkpoint (DeepSeek-V3, the
 * largest common one, has ~91k tensors in all its shards together, rank ≤ 4, a few metadata
 * entries). Exceeding one is `ERR_HEADER_LIMIT`.
 */
export const HEADER_LIMITS = {
  /** Dimensions of a tensor's shape (numpy's NPY_MAXDIMS is 64). */
  maxRank: 64,
  /** Tensors in one file. */
  maxTensors: 131_072,
  /** Entries of `__metadata__` (and members of any other nested object). */
  maxMetadataEntries: 65_536,
  /** JSON values in the whole header (objects, arrays, strings, numbers…). */
  maxJsonValues: 4_194_304,
} as const;

const JSON_LIMITS: JsonLimits = {
  topLevelMembers: {
    max: HEADER_LIMITS.maxTensors + 1,
    what: "top-level entries (tensors and __metadata__)",
  },
  nestedMembers: {
    max: HEADER_LIMITS.maxMetadataEntries,
    what: "entries in one object (__metadata__)",
  },
  arrayItems: { max: HEADER_LIMITS.maxRank, what: "items in one array (shape rank)" },
  values: { max: HEADER_LIMITS.maxJsonValues, what: "JSON values" },
};

/** Bytes of the little-endian u64 length prefix. */
export const PREFIX_LENGTH = 8;

const U64_MAX = (1n << 64n) - 1n;
const UNSIGNED_INTEGER = /^(?:0|[1-9][0-9]*)$/;

// Fatal: invalid UTF-8 must fail (§1.5 step 4). ignoreBOM keeps a leading BOM in the text, so it
// fails as JSON exactly like in serde instead of being silently dropped.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Checks FORMAT.md §1.5 steps 1–3 and returns the header length N. `prefix` is the first 8 bytes
 * of the file (fewer when the file is shorter); `fileSize` the whole file's length in bytes.
 *
 * @example
 * ```ts
 * const n = readHeaderLength(file.subarray(0, 8), file.length);
 * const header = parseHeader(file.subarray(8, 8 + n), file.length);
 * ```
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number): number {
  if (!(prefix instanceof Uint8Array)) throw new TypeError("prefix must be a Uint8Array");
  checkFileSize(fileSize);
  if (prefix.length < PREFIX_LENGTH || fileSize < PREFIX_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_HEADER_TOO_SMALL",
      `file is ${Math.min(prefix.length, fileSize)} bytes, shorter than the 8-byte header length prefix; ` +
        "it is truncated or not a safetensors file",
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_LENGTH);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) {
    throw new CryptoTensorsError(
      "ERR_HEADER_TOO_LARGE",
      `declared header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte cap; the file is corrupt or not a safetensors file`,
    );
  }
  const headerLength = Number(n);
  if (PREFIX_LENGTH + headerLength > fileSize) {
    throw new CryptoTensorsError(
      "ERR_INVALID_HEADER_LENGTH",
      `declared header length ${headerLength} runs past the end of the ${fileSize}-byte file; the file is truncated`,
    );
  }
  return headerLength;
}

/**
 * Parses and validates the N header bytes that follow the prefix (FORMAT.md §1.5 steps 4–7) for a
 * file of `fileSize` bytes. Tensors come back sorted by (begin, end, headerIndex) (§4.4).
 *
 * Stricter than the reference: any repeated key (tensor name, metadata key, tensor field,
 * `__metadata__`) is `ERR_HEADER_DUPLICATE_KEY`; a shape dimension above 2^53−1 is
 * `ERR_VALIDATION_OVERFLOW` even for a zero-element tensor. Unknown fields inside a tensor entry
 * are tolerated like in the reference but are not kept: only their names are reported in
 * `ignoredFields`, because they are not covered by the signature (§4.3, §8.5).
 *
 * @example
 * ```ts
 * const { tensors, metadata, dataStart } = parseHeader(headerBytes, fileSize);
 * ```
 */
export function parseHeader(headerBytes: Uint8Array, fileSize: number): ParsedHeader {
  if (!(headerBytes instanceof Uint8Array)) throw new TypeError("headerBytes must be a Uint8Array");
  checkFileSize(fileSize);
  const headerLength = headerBytes.length;
  if (headerLength > MAX_HEADER_SIZE || PREFIX_LENGTH + headerLength > fileSize) {
    throw new RangeError(
      "headerBytes must be the N bytes after the prefix, as checked by readHeaderLength",
    );
  }
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_INVALID_HEADER",
      "header is not valid UTF-8; the file is corrupt or not a safetensors file",
      { cause },
    );
  }
  const root = parseJson(text, { limits: JSON_LIMITS });
  if (root.type !== "object") structure("the header must be a JSON object");

  const entries: RawTensor[] = [];
  const ignoredFields: Array<{ tensor: string; field: string }> = [];
  let metadata: Array<[string, string]> | null = null;
  for (let i = 0; i < root.entries.length; i++) {
    const member = root.entries[i] as [string, JsonValue];
    if (member[0] === "__metadata__") metadata = readMetadata(member[1]);
    else entries.push(readTensor(member[0], member[1], entries.length, ignoredFields));
  }

  const dataLength = BigInt(fileSize - PREFIX_LENGTH - headerLength);
  const tensors = validateLayout(entries, dataLength);
  const parsed: ParsedHeader = {
    headerLength,
    dataStart: PREFIX_LENGTH + headerLength,
    tensors,
    metadata,
  };
  if (ignoredFields.length > 0) parsed.ignoredFields = ignoredFields;
  return parsed;
}

/**
 * Parses a whole in-memory safetensors file: {@link readHeaderLength} then {@link parseHeader}.
 *
 * @example
 * ```ts
 * const header = parseSafetensors(new Uint8Array(await readFile("model.safetensors")));
 * header.tensors.map((t) => t.name);
 * ```
 */
export function parseSafetensors(file: Uint8Array): ParsedHeader {
  if (!(file instanceof Uint8Array)) throw new TypeError("file must be a Uint8Array");
  const n = readHeaderLength(file.subarray(0, PREFIX_LENGTH), file.length);
  return parseHeader(file.subarray(PREFIX_LENGTH, PREFIX_LENGTH + n), file.length);
}

/** A tensor entry before layout validation: offsets and dims still BigInt. */
interface RawTensor {
  name: string;
  dtype: Dtype;
  shape: bigint[];
  begin: bigint;
  end: bigint;
  headerIndex: number;
}

function readMetadata(value: JsonValue): Array<[string, string]> | null {
  if (value.type === "null") return null;
  if (value.type !== "object") structure("__metadata__ must be an object of strings (or null)");
  return value.entries.map(([key, v]): [string, string] => {
    if (v.type !== "string") {
      structure(`__metadata__ value of ${quoteForMessage(key)} must be a string, got ${v.type}`);
    }
    return [key, v.value];
  });
}

function readTensor(
  name: string,
  value: JsonValue,
  headerIndex: number,
  ignoredFields: Array<{ tensor: string; field: string }>,
): RawTensor {
  // The name is quoted only for an error: a string per tensor per check added up (issue 13).
  const what = (): string => `tensor ${quoteForMessage(name)}`;
  if (value.type !== "object") {
    structure(`${what()} must be an object with dtype, shape and data_offsets, got ${value.type}`);
  }
  let dtypeValue: JsonValue | undefined;
  let shapeValue: JsonValue | undefined;
  let offsetsValue: JsonValue | undefined;
  // Indexed, not `for (const [field, v] of ...)`: no iterator garbage per tensor (issue 13).
  for (let i = 0; i < value.entries.length; i++) {
    const member = value.entries[i] as [string, JsonValue];
    const field = member[0];
    const v = member[1];
    if (field === "dtype") dtypeValue = v;
    else if (field === "shape") shapeValue = v;
    else if (field === "data_offsets") offsetsValue = v;
    else ignoredFields.push({ tensor: name, field });
  }
  if (dtypeValue === undefined) structure(`${what()} has no dtype`);
  if (shapeValue === undefined) structure(`${what()} has no shape`);
  if (offsetsValue === undefined) structure(`${what()} has no data_offsets`);

  if (dtypeValue.type !== "string") structure(`${what()}: dtype must be a string`);
  const dtype = dtypeValue.value;
  if (!isDtype(dtype)) {
    throw new CryptoTensorsError(
      "ERR_INVALID_DTYPE",
      `${what()} has dtype ${quoteForMessage(dtype)}, which is not a safetensors dtype (names are case-sensitive, e.g. "F32", "BF16")`,
    );
  }
  if (shapeValue.type !== "array")
    structure(`${what()}: shape must be an array of non-negative integers`);
  const shape = shapeValue.items.map((dim) => readU64(dim, what, "shape"));
  if (offsetsValue.type !== "array" || offsetsValue.items.length !== 2) {
    structure(`${what()}: data_offsets must be an array of exactly two non-negative integers`);
  }
  const [beginValue, endValue] = offsetsValue.items as [JsonValue, JsonValue];
  const begin = readU64(beginValue, what, "data_offsets");
  const end = readU64(endValue, what, "data_offsets");
  return { name, dtype, shape, begin, end, headerIndex };
}

/** A JSON number that serde would accept as a usize: digits only, no sign/fraction/exponent, ≤ u64. */
function readU64(value: JsonValue, what: () => string, field: string): bigint {
  if (value.type !== "number" || !UNSIGNED_INTEGER.test(value.raw)) {
    structure(
      `${what()}: ${field} must hold non-negative integers without sign, fraction or exponent`,
    );
  }
  const n = BigInt(value.raw);
  if (n > U64_MAX)
    structure(
      `${what()}: ${field} holds ${value.raw.length > 40 ? "a number" : value.raw}, above 2^64−1`,
    );
  return n;
}

/** §1.5 steps 6–7 on BigInt values, in the reference's order of checks. */
function validateLayout(raw: RawTensor[], dataLength: bigint): TensorEntry[] {
  raw.sort((a, b) =>
    a.begin !== b.begin
      ? a.begin < b.begin
        ? -1
        : 1
      : a.end !== b.end
        ? a.end < b.end
          ? -1
          : 1
        : a.headerIndex - b.headerIndex,
  );
  let pos = 0n;
  for (const t of raw) {
    const what = (): string => `tensor ${quoteForMessage(t.name)}`;
    if (t.begin !== pos || t.end < t.begin) {
      throw new CryptoTensorsError(
        "ERR_TENSOR_INVALID_OFFSET",
        `${what()} has data_offsets [${t.begin}, ${t.end}] but the data must continue at byte ${pos} ` +
          "(offsets must be contiguous from 0, without gaps or overlaps); the file is corrupt",
      );
    }
    pos = t.end;
    const size = tensorByteLengthBig(t.dtype, t.shape, what);
    if (t.end - t.begin !== size) {
      throw new CryptoTensorsError(
        "ERR_TENSOR_INVALID_INFO",
        `${what()} spans ${t.end - t.begin} bytes but dtype ${t.dtype} and shape [${t.shape.join(", ")}] need ${size}; the file is corrupt`,
      );
    }
  }
  if (pos !== dataLength) {
    throw new CryptoTensorsError(
      "ERR_METADATA_INCOMPLETE_BUFFER",
      `the tensors cover ${pos} bytes of data but the file holds ${dataLength}; ` +
        (pos < dataLength
          ? "there are trailing bytes after the last tensor"
          : "the file is truncated"),
    );
  }
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  return raw.map((t) => {
    // Only reachable for zero-element tensors (any other huge dim fails the size check above).
    if (t.shape.some((dim) => dim > safe)) {
      throw new CryptoTensorsError(
        "ERR_VALIDATION_OVERFLOW",
        `tensor ${quoteForMessage(t.name)} has a shape dimension above 2^53−1, which this library cannot represent exactly`,
      );
    }
    // Offsets are ≤ dataLength ≤ fileSize here, so the conversions are exact.
    return {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape.map(Number),
      dataOffsets: [Number(t.begin), Number(t.end)],
      headerIndex: t.headerIndex,
    };
  });
}

function checkFileSize(fileSize: number): void {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new RangeError(`fileSize must be a non-negative safe integer, got ${String(fileSize)}`);
  }
}

function structure(what: string): never {
  throw new CryptoTensorsError(
    "ERR_HEADER_DESERIALIZATION",
    `header has the wrong structure: ${what}; the file is corrupt or not a safetensors file`,
  );
}
