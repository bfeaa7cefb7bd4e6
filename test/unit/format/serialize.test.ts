import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DTYPES, dtypeBits, type Dtype } from "../../../src/format/dtype.js";
import { parseSafetensors } from "../../../src/format/header.js";
import {
  compareUtf8,
  jsonString,
  planLayout,
  serializeHeader,
} from "../../../src/format/serialize.js";
import { tensorByteLength } from "../../../src/format/size.js";
import { concat } from "./build.js";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes.subarray(8));
const n = (bytes: Uint8Array): bigint =>
  new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);

describe("compareUtf8", () => {
  it("orders by UTF-8 bytes, not UTF-16 units", () => {
    expect(["\u{1F600}", "\uFF01", "b", "a", "", "ab", "é"].sort(compareUtf8)).toEqual([
      "",
      "a",
      "ab",
      "b",
      "é",
      "\uFF01",
      "\u{1F600}",
    ]);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(Math.sign(compareUtf8(a, b))).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("jsonString", () => {
  it("escapes like serde_json (FORMAT.md §4.1)", () => {
    expect(jsonString('"\\/')).toBe('"\\"\\\\/"');
    expect(jsonString("\b\t\n\f\r")).toBe('"\\b\\t\\n\\f\\r"');
    expect(jsonString("\u0000\u0001\u001f\u007f")).toBe('"\\u0000\\u0001\\u001f\u007f"');
    expect(jsonString("\u2028\u2029é😀")).toBe('"\u2028\u2029é😀"');
  });

  it("refuses lone surrogates, which have no UTF-8 form", () => {
    expect(() => jsonString("a\ud800")).toThrow(TypeError);
    expect(() => jsonString("\udc00b")).toThrow(TypeError);
    expect(jsonString("\ud83d\ude00")).toBe('"😀"');
  });
});

describe("planLayout", () => {
  it("orders by dtype rank descending, then name bytes, with cumulative offsets", () => {
    const layout = planLayout([
      { name: "weight", dtype: "F16", shape: [2, 2] },
      { name: "bias", dtype: "F32", shape: [2] },
      { name: "b", dtype: "F16", shape: [] },
      { name: "mask", dtype: "BOOL", shape: [3] },
      { name: "big", dtype: "U64", shape: [0] },
      { name: "nib", dtype: "F4", shape: [2, 3] },
    ]);
    expect(layout).toEqual([
      { name: "big", dtype: "U64", shape: [0], dataOffsets: [0, 0] },
      { name: "bias", dtype: "F32", shape: [2], dataOffsets: [0, 8] },
      { name: "b", dtype: "F16", shape: [], dataOffsets: [8, 10] },
      { name: "weight", dtype: "F16", shape: [2, 2], dataOffsets: [10, 18] },
      { name: "nib", dtype: "F4", shape: [2, 3], dataOffsets: [18, 21] },
      { name: "mask", dtype: "BOOL", shape: [3], dataOffsets: [21, 24] },
    ]);
  });

  it("copies shapes instead of aliasing the caller's arrays", () => {
    const shape = [2];
    const [entry] = planLayout([{ name: "x", dtype: "U8", shape }]);
    shape[0] = 5;
    expect(entry?.shape).toEqual([2]);
  });

  it("rejects duplicates, the reserved name and impossible sizes", () => {
    const dup = [
      { name: "x", dtype: "U8" as const, shape: [1] },
      { name: "x", dtype: "F32" as const, shape: [1] },
    ];
    expect(() => planLayout(dup)).toThrow(expect.objectContaining({ code: "ERR_INVALID_TENSOR" }));
    expect(() => planLayout([{ name: "__metadata__", dtype: "U8", shape: [1] }])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_TENSOR" }),
    );
    expect(() => planLayout([{ name: "\ud800", dtype: "U8", shape: [1] }])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_TENSOR" }),
    );
    expect(() => planLayout([{ name: "x", dtype: "F4", shape: [1] }])).toThrow(
      expect.objectContaining({ code: "ERR_MISALIGNED_SLICE" }),
    );
    const half = 2 ** 52;
    const huge = [
      { name: "a", dtype: "U8" as const, shape: [half] },
      { name: "b", dtype: "U8" as const, shape: [half] },
    ];
    expect(() => planLayout(huge)).toThrow(
      expect.objectContaining({ code: "ERR_VALIDATION_OVERFLOW" }),
    );
    expect(() => planLayout([{ name: "x", dtype: "f32" as Dtype, shape: [1] }])).toThrow(TypeError);
    expect(() => planLayout([{ name: "x", dtype: "U8", shape: [-1] }])).toThrow(RangeError);
    expect(() => planLayout([{ name: 1 as unknown as string, dtype: "U8", shape: [1] }])).toThrow(
      TypeError,
    );
  });
});

describe("serializeHeader", () => {
  it("writes the empty file as {} plus six spaces", () => {
    const prefix = serializeHeader([]);
    expect(n(prefix)).toBe(8n);
    expect(text(prefix)).toBe("{}      ");
  });

  it("writes __metadata__ first, sorted by bytes, even when empty", () => {
    expect(text(serializeHeader([], {}))).toBe('{"__metadata__":{}}     ');
    const layout = planLayout([{ name: "x", dtype: "U8", shape: [1] }]);
    const pairs: Array<[string, string]> = [
      ["😀", "1"],
      ["\uFF01", "2"],
      ["b", 'q"\n'],
      ["a", "/"],
    ];
    const prefix = serializeHeader(layout, pairs);
    expect(text(prefix).trimEnd()).toBe(
      '{"__metadata__":{"a":"/","b":"q\\"\\n","\uFF01":"2","😀":"1"},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
    );
    expect(serializeHeader(layout, Object.fromEntries(pairs))).toEqual(prefix);
    expect(text(serializeHeader(layout, null)).trimEnd()).toBe(
      '{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
    );
  });

  it("pads with spaces to a multiple of 8 and N counts the padding", () => {
    for (let len = 1; len <= 16; len++) {
      const prefix = serializeHeader([], { ["k".repeat(len)]: "" });
      const json = `{"__metadata__":{"${"k".repeat(len)}":""}}`;
      expect(Number(n(prefix)) % 8).toBe(0);
      expect(Number(n(prefix))).toBe(prefix.length - 8);
      expect(text(prefix)).toBe(json + " ".repeat((8 - (json.length % 8)) % 8));
    }
  });

  it("keeps the given tensor order and checks the layout", () => {
    const layout = planLayout([
      { name: "a", dtype: "U8", shape: [1] },
      { name: "b", dtype: "U8", shape: [2] },
    ]);
    expect(text(serializeHeader(layout))).toContain(
      '"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":',
    );
    const swapped = [layout[1]!, layout[0]!];
    expect(() => serializeHeader(swapped)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_TENSOR" }),
    );
    const wrongSize = [{ ...layout[0]!, dataOffsets: [0, 2] as [number, number] }];
    expect(() => serializeHeader(wrongSize)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_TENSOR" }),
    );
    expect(() => serializeHeader([layout[0]!, { ...layout[0]!, dataOffsets: [1, 2] }])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_TENSOR" }),
    );
  });

  it("refuses bad metadata as misuse", () => {
    expect(() =>
      serializeHeader(
        [],
        [
          ["a", "1"],
          ["a", "2"],
        ],
      ),
    ).toThrow(TypeError);
    expect(() => serializeHeader([], { a: 1 as unknown as string })).toThrow(TypeError);
    expect(() => serializeHeader([], [["a"] as unknown as [string, string]])).toThrow(TypeError);
    expect(() => serializeHeader([], { "\udc00": "x" })).toThrow(TypeError);
  });

  it("refuses a header above 100,000,000 bytes", () => {
    const layout = planLayout([{ name: "x".repeat(100_000_000), dtype: "U8", shape: [0] }]);
    expect(() => serializeHeader(layout)).toThrow(
      expect.objectContaining({ code: "ERR_HEADER_TOO_LARGE" }),
    );
  });
});

// Random tensors, any dtype (sub-byte ones with whole-byte element counts), unicode names.
const tensorArb = fc
  .record({
    name: fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => s !== "__metadata__"),
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
  })
  .map((t) => {
    const bits = dtypeBits(t.dtype);
    // Make the element count a multiple of 8/gcd(bits, 8) by scaling the first dimension.
    const unit = bits % 8 === 0 ? 1 : bits === 4 ? 2 : 4;
    const shape =
      t.shape.length === 0 ? (unit === 1 ? [] : [unit]) : [t.shape[0]! * unit, ...t.shape.slice(1)];
    return { ...t, shape };
  });

describe("planLayout + serializeHeader → parseSafetensors", () => {
  it("round-trips random tensors and metadata", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 12 }),
        fc.option(
          fc.dictionary(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), {
            maxKeys: 6,
          }),
        ),
        (tensors, metadata) => {
          const layout = planLayout(tensors);
          const prefix = serializeHeader(layout, metadata);
          const dataLength = layout.length === 0 ? 0 : layout[layout.length - 1]!.dataOffsets[1];
          const file = concat(
            prefix,
            new Uint8Array(dataLength).map((_, i) => i & 0xff),
          );
          const parsed = parseSafetensors(file);
          expect(parsed.headerLength % 8).toBe(0);
          expect(parsed.dataStart).toBe(prefix.length);
          // Write order = offset order, so the parsed order is the layout order.
          expect(
            parsed.tensors.map(({ name, dtype, shape, dataOffsets }) => ({
              name,
              dtype,
              shape,
              dataOffsets,
            })),
          ).toEqual(layout);
          expect(parsed.tensors.map((t) => t.headerIndex)).toEqual(layout.map((_, i) => i));
          for (const t of parsed.tensors)
            expect(t.dataOffsets[1] - t.dataOffsets[0]).toBe(tensorByteLength(t.dtype, t.shape));
          if (metadata === null) expect(parsed.metadata).toBeNull();
          else expect(new Map(parsed.metadata)).toEqual(new Map(Object.entries(metadata)));
          // Writing the parsed header again gives the same bytes.
          expect(serializeHeader(parsed.tensors, parsed.metadata)).toEqual(prefix);
        },
      ),
      { numRuns: 500 },
    );
  });
});
