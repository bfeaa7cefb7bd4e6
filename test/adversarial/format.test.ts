// One hand-built hostile file per error code of the format core (FORMAT.md §1.5), plus resource
// attacks: every case must end in the typed error, quickly, without a crash.
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";
import { parseSafetensors } from "../../src/format/header.js";
import { buildFile } from "../unit/format/build.js";

function codeOf(file: Uint8Array): ErrorCode {
  try {
    parseSafetensors(file);
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e.code;
    throw e;
  }
  throw new Error("the file was accepted");
}

const t = (name: string, dtype: string, shape: string, offsets: string): string =>
  `"${name}":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
const obj = (...entries: string[]): string => `{${entries.join(",")}}`;

describe("hostile safetensors files", () => {
  it.each<[string, Uint8Array, ErrorCode]>([
    // §1.5 step 1–3: the prefix.
    ["an empty file", new Uint8Array(0), "ERR_HEADER_TOO_SMALL"],
    ["a 7-byte file", new Uint8Array(7), "ERR_HEADER_TOO_SMALL"],
    ["N = 2^64 − 1", buildFile("{}", 0, (1n << 64n) - 1n), "ERR_HEADER_TOO_LARGE"],
    ["N = 100,000,001", buildFile("{}", 0, 100_000_001n), "ERR_HEADER_TOO_LARGE"],
    ["N past the end of the file", buildFile("{}", 0, 3n), "ERR_INVALID_HEADER_LENGTH"],
    ["a truncated header", buildFile("{}      ").subarray(0, 12), "ERR_INVALID_HEADER_LENGTH"],
    // Step 4: UTF-8.
    ["a non-UTF-8 header", buildFile(new Uint8Array([0x7b, 0xff, 0x7d])), "ERR_INVALID_HEADER"],
    ["an overlong UTF-8 encoding", buildFile(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])), "ERR_INVALID_HEADER"],
    ["a UTF-8-encoded surrogate", buildFile(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), "ERR_INVALID_HEADER"],
    ["a header cut inside a character", buildFile(new Uint8Array([0x22, 0xc3])), "ERR_INVALID_HEADER"],
    // Step 5: JSON structure.
    ["a header that is an array", buildFile("[]"), "ERR_HEADER_DESERIALIZATION"],
    ["a header that is a string", buildFile('"{}"'), "ERR_HEADER_DESERIALIZATION"],
    ["NUL padding", buildFile("{}\0\0\0\0\0\0"), "ERR_HEADER_DESERIALIZATION"],
    ["a byte order mark", buildFile("\ufeff{}"), "ERR_HEADER_DESERIALIZATION"],
    ["a tensor that is not an object", buildFile('{"x":1}'), "ERR_HEADER_DESERIALIZATION"],
    ["a missing dtype", buildFile('{"x":{"shape":[],"data_offsets":[0,1]}}', 1), "ERR_HEADER_DESERIALIZATION"],
    ["a missing shape", buildFile('{"x":{"dtype":"U8","data_offsets":[0,1]}}', 1), "ERR_HEADER_DESERIALIZATION"],
    ["missing data_offsets", buildFile('{"x":{"dtype":"U8","shape":[]}}', 1), "ERR_HEADER_DESERIALIZATION"],
    ["a non-string dtype", buildFile(obj(`"x":{"dtype":8,"shape":[],"data_offsets":[0,1]}`), 1), "ERR_HEADER_DESERIALIZATION"],
    ["an unknown dtype", buildFile(obj(t("x", "F128", "[1]", "[0,16]")), 16), "ERR_INVALID_DTYPE"],
    ["a lower-case dtype", buildFile(obj(t("x", "f32", "[1]", "[0,4]")), 4), "ERR_INVALID_DTYPE"],
    ["a negative dimension", buildFile(obj(t("x", "U8", "[-1]", "[0,0]"))), "ERR_HEADER_DESERIALIZATION"],
    ["a fractional dimension", buildFile(obj(t("x", "U8", "[1.0]", "[0,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["an exponent dimension", buildFile(obj(t("x", "U8", "[1e0]", "[0,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["a negative zero offset", buildFile(obj(t("x", "U8", "[1]", "[-0,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["a dimension of 2^64", buildFile(obj(t("x", "U8", "[18446744073709551616]", "[0,0]"))), "ERR_HEADER_DESERIALIZATION"],
    ["an offset of 2^64", buildFile(obj(t("x", "U8", "[0]", "[0,18446744073709551616]"))), "ERR_HEADER_DESERIALIZATION"],
    ["a string dimension", buildFile(obj(t("x", "U8", '["1"]', "[0,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["a shape that is not an array", buildFile(obj(t("x", "U8", "1", "[0,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["one data offset", buildFile(obj(t("x", "U8", "[1]", "[1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["three data offsets", buildFile(obj(t("x", "U8", "[1]", "[0,1,1]")), 1), "ERR_HEADER_DESERIALIZATION"],
    ["data offsets as an object", buildFile(obj(t("x", "U8", "[1]", '{"0":0,"1":1}')), 1), "ERR_HEADER_DESERIALIZATION"],
    ["a non-string metadata value", buildFile('{"__metadata__":{"a":1}}'), "ERR_HEADER_DESERIALIZATION"],
    ["a null metadata value", buildFile('{"__metadata__":{"a":null}}'), "ERR_HEADER_DESERIALIZATION"],
    ["metadata as a string", buildFile('{"__metadata__":"a"}'), "ERR_HEADER_DESERIALIZATION"],
    ["a lone-surrogate escape", buildFile('{"__metadata__":{"a":"\\udead"}}'), "ERR_HEADER_DESERIALIZATION"],
    ["deep nesting in an unknown field", buildFile(`{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"n":${"[".repeat(200)}}}`), "ERR_HEADER_DESERIALIZATION"],
    // Duplicates (stricter than the reference, which keeps the last one for names and metadata keys).
    ["a repeated tensor name", buildFile(obj(t("x", "U8", "[1]", "[0,1]"), t("x", "U8", "[1]", "[1,2]")), 2), "ERR_HEADER_DUPLICATE_KEY"],
    ["__metadata__ twice", buildFile('{"__metadata__":{},"__metadata__":{}}'), "ERR_HEADER_DUPLICATE_KEY"],
    ["a repeated metadata key", buildFile('{"__metadata__":{"k":"a","k":"b"}}'), "ERR_HEADER_DUPLICATE_KEY"],
    ["a repeated field in a tensor", buildFile('{"x":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', 1), "ERR_HEADER_DUPLICATE_KEY"],
    // Steps 6–7: layout.
    ["a first tensor not at 0", buildFile(obj(t("x", "U8", "[1]", "[1,2]")), 2), "ERR_TENSOR_INVALID_OFFSET"],
    ["end before begin", buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[0]", "[4,2]")), 4), "ERR_TENSOR_INVALID_OFFSET"],
    ["overlapping tensors", buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[2,6]")), 6), "ERR_TENSOR_INVALID_OFFSET"],
    ["a gap between tensors", buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[5,9]")), 9), "ERR_TENSOR_INVALID_OFFSET"],
    ["a shape overflowing u64", buildFile(obj(t("x", "U8", "[4294967296,4294967296]", "[0,1]")), 1), "ERR_VALIDATION_OVERFLOW"],
    ["bits overflowing u64", buildFile(obj(t("x", "F64", "[2305843009213693952]", "[0,1]")), 1), "ERR_VALIDATION_OVERFLOW"],
    ["a huge dimension in an empty tensor", buildFile(obj(t("x", "U8", "[9007199254740992,0]", "[0,0]"))), "ERR_VALIDATION_OVERFLOW"],
    ["an odd F4 count", buildFile(obj(t("x", "F4", "[3]", "[0,1]")), 1), "ERR_MISALIGNED_SLICE"],
    ["an F6 count of 2", buildFile(obj(t("x", "F6_E3M2", "[2]", "[0,1]")), 1), "ERR_MISALIGNED_SLICE"],
    ["a size that does not match the shape", buildFile(obj(t("x", "F32", "[2]", "[0,4]")), 4), "ERR_TENSOR_INVALID_INFO"],
    ["a shape product above 2^53 in a small file", buildFile(obj(t("x", "U8", "[4294967296,4194304]", "[0,1]")), 1), "ERR_TENSOR_INVALID_INFO"],
    ["trailing bytes", buildFile(obj(t("x", "U8", "[1]", "[0,1]")), 2), "ERR_METADATA_INCOMPLETE_BUFFER"],
    ["a truncated data section", buildFile(obj(t("x", "U8", "[1]", "[0,1]"), t("y", "U8", "[2]", "[1,3]")), 2), "ERR_METADATA_INCOMPLETE_BUFFER"],
    ["data with no tensors", buildFile("{}", 8), "ERR_METADATA_INCOMPLETE_BUFFER"],
  ])("rejects %s", (_what, file, code) => {
    expect(codeOf(file)).toBe(code);
  });

  it("names the tensor and says what to do", () => {
    const file = buildFile(obj(t("layer.0.weight", "F32", "[2]", "[0,4]")), 4);
    expect(() => parseSafetensors(file)).toThrow(/"layer\.0\.weight".*need 8.*corrupt/);
    const offsets = buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[2,6]")), 6);
    expect(() => parseSafetensors(offsets)).toThrow(/"b".*contiguous/);
  });

  it("fails fast and in bounded memory on 100 MB of '['", () => {
    const header = new Uint8Array(100_000_000).fill(0x5b);
    const file = buildFile(header);
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    expect(codeOf(file)).toBe("ERR_HEADER_DESERIALIZATION");
    expect(performance.now() - start).toBeLessThan(2_000);
    // The decoded text (a one-byte string of 100 MB) is the only large allocation: the parser keeps
    // at most 128 frames, where one object per '[' would take gigabytes.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(130_000_000);
  });

  it("rejects 100,000-deep nesting without exhausting the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(codeOf(buildFile(`{"__metadata__":${deep}}`))).toBe("ERR_HEADER_DESERIALIZATION");
    expect(codeOf(buildFile('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000)))).toBe("ERR_HEADER_DESERIALIZATION");
  });

  it("never throws anything but a CryptoTensorsError on mutated valid files", () => {
    const valid = buildFile(obj(t("b", "F32", "[2]", "[0,8]"), t("w", "F16", "[2,2]", "[8,16]")), 16);
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 20_000; round++) {
      const file = valid.slice();
      for (let k = 0; k <= next() % 3; k++) file[next() % file.length] = next() & 0xff;
      const cut = next() % 4 === 0 ? file.subarray(0, next() % file.length) : file;
      try {
        parseSafetensors(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoTensorsError);
      }
    }
  });
});
