// Hand-built hostile safetensors files, one or more per error code of FORMAT.md §1.5, shared by
// the adversarial tests (our parser) and the HF cross-checks (the reference parser).
import type { ErrorCode } from "../../../src/errors.js";
import { buildFile } from "./build.js";

/** A hostile file, the code our parser must raise, and whether HF 0.7.0 accepts it (we are stricter). */
export type HostileCase = [what: string, file: Uint8Array, code: ErrorCode, hfAccepts?: true];

/** One tensor entry's JSON text, fields in writer order. */
export const t = (name: string, dtype: string, shape: string, offsets: string): string =>
  `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
/** A header object from entry texts. */
export const obj = (...entries: string[]): string => `{${entries.join(",")}}`;

/** The hostile files. */
export const HOSTILE_FILES: HostileCase[] = [
  // §1.5 step 1–3: the prefix.
  ["an empty file", new Uint8Array(0), "ERR_HEADER_TOO_SMALL"],
  ["a 7-byte file", new Uint8Array(7), "ERR_HEADER_TOO_SMALL"],
  ["N = 2^64 − 1", buildFile("{}", 0, (1n << 64n) - 1n), "ERR_HEADER_TOO_LARGE"],
  ["N = 100,000,001", buildFile("{}", 0, 100_000_001n), "ERR_HEADER_TOO_LARGE"],
  ["N past the end of the file", buildFile("{}", 0, 3n), "ERR_INVALID_HEADER_LENGTH"],
  ["a truncated header", buildFile("{}      ").subarray(0, 12), "ERR_INVALID_HEADER_LENGTH"],
  // Step 4: UTF-8.
  ["a non-UTF-8 header", buildFile(new Uint8Array([0x7b, 0xff, 0x7d])), "ERR_INVALID_HEADER"],
  [
    "an overlong UTF-8 encoding",
    buildFile(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])),
    "ERR_INVALID_HEADER",
  ],
  [
    "a UTF-8-encoded surrogate",
    buildFile(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])),
    "ERR_INVALID_HEADER",
  ],
  [
    "a header cut inside a character",
    buildFile(new Uint8Array([0x22, 0xc3])),
    "ERR_INVALID_HEADER",
  ],
  // Step 5: JSON structure.
  ["a header that is an array", buildFile("[]"), "ERR_HEADER_DESERIALIZATION"],
  ["a header that is a string", buildFile('"{}"'), "ERR_HEADER_DESERIALIZATION"],
  ["NUL padding", buildFile("{}\0\0\0\0\0\0"), "ERR_HEADER_DESERIALIZATION"],
  ["a byte order mark", buildFile("\ufeff{}"), "ERR_HEADER_DESERIALIZATION"],
  ["a tensor that is not an object", buildFile('{"x":1}'), "ERR_HEADER_DESERIALIZATION"],
  [
    "a missing dtype",
    buildFile('{"x":{"shape":[],"data_offsets":[0,1]}}', 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a missing shape",
    buildFile('{"x":{"dtype":"U8","data_offsets":[0,1]}}', 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "missing data_offsets",
    buildFile('{"x":{"dtype":"U8","shape":[]}}', 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a non-string dtype",
    buildFile(obj(`"x":{"dtype":8,"shape":[],"data_offsets":[0,1]}`), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  ["an unknown dtype", buildFile(obj(t("x", "F128", "[1]", "[0,16]")), 16), "ERR_INVALID_DTYPE"],
  ["a lower-case dtype", buildFile(obj(t("x", "f32", "[1]", "[0,4]")), 4), "ERR_INVALID_DTYPE"],
  [
    "a negative dimension",
    buildFile(obj(t("x", "U8", "[-1]", "[0,0]"))),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a fractional dimension",
    buildFile(obj(t("x", "U8", "[1.0]", "[0,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "an exponent dimension",
    buildFile(obj(t("x", "U8", "[1e0]", "[0,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a negative zero offset",
    buildFile(obj(t("x", "U8", "[1]", "[-0,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a dimension of 2^64",
    buildFile(obj(t("x", "U8", "[18446744073709551616]", "[0,0]"))),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "an offset of 2^64",
    buildFile(obj(t("x", "U8", "[0]", "[0,18446744073709551616]"))),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a string dimension",
    buildFile(obj(t("x", "U8", '["1"]', "[0,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a shape that is not an array",
    buildFile(obj(t("x", "U8", "1", "[0,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  ["one data offset", buildFile(obj(t("x", "U8", "[1]", "[1]")), 1), "ERR_HEADER_DESERIALIZATION"],
  [
    "three data offsets",
    buildFile(obj(t("x", "U8", "[1]", "[0,1,1]")), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "data offsets as an object",
    buildFile(obj(t("x", "U8", "[1]", '{"0":0,"1":1}')), 1),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "a non-string metadata value",
    buildFile('{"__metadata__":{"a":1}}'),
    "ERR_HEADER_DESERIALIZATION",
  ],
  ["a null metadata value", buildFile('{"__metadata__":{"a":null}}'), "ERR_HEADER_DESERIALIZATION"],
  ["metadata as a string", buildFile('{"__metadata__":"a"}'), "ERR_HEADER_DESERIALIZATION"],
  [
    "a lone-surrogate escape",
    buildFile('{"__metadata__":{"a":"\\udead"}}'),
    "ERR_HEADER_DESERIALIZATION",
  ],
  [
    "deep nesting in an unknown field",
    buildFile(`{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"n":${"[".repeat(200)}}}`),
    "ERR_HEADER_DESERIALIZATION",
  ],
  // Duplicates (stricter than the reference, which keeps the last one for names and metadata keys).
  [
    "a repeated tensor name",
    buildFile(obj(t("x", "U8", "[1]", "[0,1]"), t("x", "U8", "[1]", "[0,1]")), 1),
    "ERR_HEADER_DUPLICATE_KEY",
    true,
  ],
  [
    "__metadata__ twice",
    buildFile('{"__metadata__":{},"__metadata__":{}}'),
    "ERR_HEADER_DUPLICATE_KEY",
  ],
  [
    "a repeated metadata key",
    buildFile('{"__metadata__":{"k":"a","k":"b"}}'),
    "ERR_HEADER_DUPLICATE_KEY",
    true,
  ],
  [
    "a repeated field in a tensor",
    buildFile('{"x":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', 1),
    "ERR_HEADER_DUPLICATE_KEY",
  ],
  // Steps 6–7: layout.
  [
    "a first tensor not at 0",
    buildFile(obj(t("x", "U8", "[1]", "[1,2]")), 2),
    "ERR_TENSOR_INVALID_OFFSET",
  ],
  [
    "end before begin",
    buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[0]", "[4,2]")), 4),
    "ERR_TENSOR_INVALID_OFFSET",
  ],
  [
    "overlapping tensors",
    buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[2,6]")), 6),
    "ERR_TENSOR_INVALID_OFFSET",
  ],
  [
    "a gap between tensors",
    buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[5,9]")), 9),
    "ERR_TENSOR_INVALID_OFFSET",
  ],
  [
    "a shape overflowing u64",
    buildFile(obj(t("x", "U8", "[4294967296,4294967296]", "[0,1]")), 1),
    "ERR_VALIDATION_OVERFLOW",
  ],
  [
    "bits overflowing u64",
    buildFile(obj(t("x", "F64", "[2305843009213693952]", "[0,1]")), 1),
    "ERR_VALIDATION_OVERFLOW",
  ],
  [
    "a huge dimension in an empty tensor",
    buildFile(obj(t("x", "U8", "[9007199254740992,0]", "[0,0]"))),
    "ERR_VALIDATION_OVERFLOW",
    true,
  ],
  ["an odd F4 count", buildFile(obj(t("x", "F4", "[3]", "[0,1]")), 1), "ERR_MISALIGNED_SLICE"],
  [
    "an F6 count of 2",
    buildFile(obj(t("x", "F6_E3M2", "[2]", "[0,1]")), 1),
    "ERR_MISALIGNED_SLICE",
  ],
  [
    "a size that does not match the shape",
    buildFile(obj(t("x", "F32", "[2]", "[0,4]")), 4),
    "ERR_TENSOR_INVALID_INFO",
  ],
  [
    "a shape product above 2^53 in a small file",
    buildFile(obj(t("x", "U8", "[4294967296,4194304]", "[0,1]")), 1),
    "ERR_TENSOR_INVALID_INFO",
  ],
  [
    "trailing bytes",
    buildFile(obj(t("x", "U8", "[1]", "[0,1]")), 2),
    "ERR_METADATA_INCOMPLETE_BUFFER",
  ],
  [
    "a truncated data section",
    buildFile(obj(t("x", "U8", "[1]", "[0,1]"), t("y", "U8", "[2]", "[1,3]")), 2),
    "ERR_METADATA_INCOMPLETE_BUFFER",
  ],
  ["data with no tensors", buildFile("{}", 8), "ERR_METADATA_INCOMPLETE_BUFFER"],
];
