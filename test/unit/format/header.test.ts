import { describe, expect, it } from "vitest";
import {
  MAX_HEADER_SIZE,
  parseHeader,
  parseSafetensors,
  readHeaderLength,
} from "../../../src/format/header.js";
import { buildFile } from "./build.js";

describe("readHeaderLength", () => {
  it("returns N from the little-endian prefix", () => {
    const file = buildFile("{}      ");
    expect(readHeaderLength(file.subarray(0, 8), file.length)).toBe(8);
    expect(MAX_HEADER_SIZE).toBe(100_000_000);
  });

  it("accepts N exactly at the cap when the file is long enough", () => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(MAX_HEADER_SIZE), true);
    expect(readHeaderLength(prefix, 8 + MAX_HEADER_SIZE)).toBe(MAX_HEADER_SIZE);
  });

  it("reads from a prefix view at any byte offset", () => {
    const backing = new Uint8Array(20);
    backing.set([5, 0, 0, 0, 0, 0, 0, 0], 3);
    expect(readHeaderLength(backing.subarray(3, 11), 13)).toBe(5);
  });

  it("treats bad arguments as misuse", () => {
    expect(() => readHeaderLength([] as unknown as Uint8Array, 0)).toThrow(TypeError);
    expect(() => readHeaderLength(new Uint8Array(8), -1)).toThrow(RangeError);
    expect(() => readHeaderLength(new Uint8Array(8), 1.5)).toThrow(RangeError);
  });
});

describe("parseHeader", () => {
  it("parses the empty file the reference writes", () => {
    const h = parseSafetensors(buildFile("{}      "));
    expect(h).toEqual({ headerLength: 8, dataStart: 16, tensors: [], metadata: null });
  });

  it("returns tensors sorted by offsets with their header positions", () => {
    const header =
      '{"__metadata__":{"z":"1","a":"é\\n"},"w":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"s":{"dtype":"BOOL","shape":[],"data_offsets":[16,17]}}';
    const h = parseSafetensors(buildFile(header, 17));
    expect(h.headerLength).toBe(new TextEncoder().encode(header).length);
    expect(h.dataStart).toBe(8 + h.headerLength);
    expect(h.metadata).toEqual([
      ["z", "1"],
      ["a", "é\n"],
    ]);
    expect(h.tensors).toEqual([
      { name: "b", dtype: "F32", shape: [2], dataOffsets: [0, 8], headerIndex: 1 },
      { name: "w", dtype: "F16", shape: [2, 2], dataOffsets: [8, 16], headerIndex: 0 },
      { name: "s", dtype: "BOOL", shape: [], dataOffsets: [16, 17], headerIndex: 2 },
    ]);
    expect(h.ignoredFields).toBeUndefined();
  });

  it("orders empty tensors sharing an offset by header position (FORMAT.md §4.4)", () => {
    const header =
      '{"z":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},' +
      '"m":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}';
    const h = parseSafetensors(buildFile(header, 1));
    expect(h.tensors.map((t) => `${t.name}@${t.headerIndex}`)).toEqual([
      "z@0",
      "m@2",
      "a@1",
      "b@3",
    ]);
  });

  it("accepts what the reference reader accepts: whitespace, unpadded N, null metadata", () => {
    const header =
      ' \t\r\n{ "__metadata__" : null , "x" : { "shape" : [ 1 ] , "dtype" : "U8" , "data_offsets" : [ 0 , 1 ] } }\n';
    const h = parseSafetensors(buildFile(header, 1));
    expect(h.metadata).toBeNull();
    expect(h.tensors[0]).toMatchObject({ name: "x", dtype: "U8", shape: [1], dataOffsets: [0, 1] });
  });

  it("keeps reserved and unicode metadata keys and names", () => {
    const header =
      '{"__metadata__":{"__encryption__":"{}","日本":"\\u0000"},"🙂":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}';
    const h = parseSafetensors(buildFile(header, 1));
    expect(h.metadata).toEqual([
      ["__encryption__", "{}"],
      ["日本", "\u0000"],
    ]);
    expect(h.tensors[0]?.name).toBe("🙂");
  });

  it("drops unknown tensor fields but reports their names (FORMAT.md §8.5)", () => {
    const header =
      '{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"note":{"deep":[1]},"extra":null}}';
    const h = parseSafetensors(buildFile(header, 1));
    expect(h.tensors[0]).toEqual({
      name: "x",
      dtype: "U8",
      shape: [1],
      dataOffsets: [0, 1],
      headerIndex: 0,
    });
    expect(h.ignoredFields).toEqual([
      { tensor: "x", field: "note" },
      { tensor: "x", field: "extra" },
    ]);
  });

  it("computes sizes exactly for shapes whose products exceed 2^53", () => {
    // 2^27 × 2^27 elements of F4: 2^54 × 4 bits = 2^53 bytes, far beyond this 0-byte file.
    const header = '{"x":{"dtype":"F4","shape":[134217728,134217728],"data_offsets":[0,0]}}';
    expect(() => parseSafetensors(buildFile(header))).toThrow(
      expect.objectContaining({ code: "ERR_TENSOR_INVALID_INFO" }),
    );
  });

  it("accepts a large dimension when another is zero, up to 2^53−1", () => {
    const ok = `{"x":{"dtype":"U64","shape":[${Number.MAX_SAFE_INTEGER},0],"data_offsets":[0,0]}}`;
    expect(parseSafetensors(buildFile(ok)).tensors[0]?.shape).toEqual([Number.MAX_SAFE_INTEGER, 0]);
  });

  it("rejects headerBytes inconsistent with the file size as misuse", () => {
    expect(() => parseHeader(new Uint8Array(10), 12)).toThrow(RangeError);
    expect(() => parseHeader("{}" as unknown as Uint8Array, 12)).toThrow(TypeError);
    expect(() => parseSafetensors(null as unknown as Uint8Array)).toThrow(TypeError);
  });

  it("parses a header given as a subarray of a larger buffer", () => {
    const file = buildFile(
      '{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}',
      new Uint8Array([7, 9]),
    );
    const n = readHeaderLength(file.subarray(0, 8), file.length);
    expect(parseHeader(file.subarray(8, 8 + n), file.length).tensors[0]?.dataOffsets).toEqual([
      0, 2,
    ]);
  });
});
