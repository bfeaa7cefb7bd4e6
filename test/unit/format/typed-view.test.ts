// Typed views by dtype and the F16/BF16 → Float32 widening (issue 12 item 7).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotSupportedError } from "../../../src/errors.js";
import { tensorView, toFloat32 } from "../../../src/format/typed-view.js";

const bytes = (view: ArrayBufferView) =>
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

describe("tensorView", () => {
  it("returns the typed array of each dtype over the same memory", () => {
    const f32 = new Float32Array([1.5, -2, 3]);
    const view = tensorView({ dtype: "F32", data: bytes(f32) });
    expect(view).toBeInstanceOf(Float32Array);
    expect(view.buffer).toBe(f32.buffer);
    expect(Array.from(view)).toEqual([1.5, -2, 3]);
    const i64 = tensorView({ dtype: "I64", data: bytes(new BigInt64Array([-5n, 2n ** 40n])) });
    expect(i64).toBeInstanceOf(BigInt64Array);
    expect(Array.from(i64)).toEqual([-5n, 2n ** 40n]);
    expect(tensorView({ dtype: "I32", data: bytes(new Int32Array([7])) })).toBeInstanceOf(
      Int32Array,
    );
    expect(tensorView({ dtype: "BOOL", data: new Uint8Array([1, 0]) })).toBeInstanceOf(Uint8Array);
  });

  it("copies misaligned bytes into an aligned array", () => {
    const backing = new Uint8Array(13);
    backing.set(bytes(new Float32Array([4, 5, 6])), 1);
    const view = tensorView({ dtype: "F32", data: backing.subarray(1) });
    expect(Array.from(view)).toEqual([4, 5, 6]);
    expect(view.buffer).not.toBe(backing.buffer);
  });

  it("refuses dtypes without a typed array and partial elements", () => {
    expect(() => tensorView({ dtype: "F8_E4M3", data: new Uint8Array(2) })).toThrow(
      NotSupportedError,
    );
    expect(() => tensorView({ dtype: "C64", data: new Uint8Array(8) })).toThrow(NotSupportedError);
    expect(() => tensorView({ dtype: "F32", data: new Uint8Array(6) })).toThrow(RangeError);
  });
});

describe("toFloat32", () => {
  it("widens F16 exactly, including subnormals, infinities, NaN and -0", () => {
    const halves = new Uint16Array([
      0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000,
    ]);
    const out = toFloat32({ dtype: "F16", data: bytes(halves) });
    expect(Array.from(out.slice(0, 6))).toEqual([1, -2, 2 ** -24, 65504, Infinity, -Infinity]);
    expect(Number.isNaN(out[6])).toBe(true);
    expect(Object.is(out[7], -0)).toBe(true);
  });

  it("widens BF16 as the top half of a float32 (property)", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const f = new Float32Array([x]);
        const top = new Uint32Array(f.buffer)[0]! >>> 16;
        const back = toFloat32({ dtype: "BF16", data: bytes(new Uint16Array([top])) })[0]!;
        expect(new Uint32Array(new Float32Array([back]).buffer)[0]).toBe((top << 16) >>> 0);
      }),
    );
  });

  it("matches the binary16 definition for every finite half (exhaustive)", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = toFloat32({ dtype: "F16", data: bytes(all) });
    const wrong: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const exponent = (i >> 10) & 0x1f;
      if (exponent === 0x1f) continue;
      const sign = i & 0x8000 ? -1 : 1;
      const mantissa = i & 0x3ff;
      const expected =
        exponent === 0
          ? sign * mantissa * 2 ** -24
          : sign * (1024 + mantissa) * 2 ** (exponent - 25);
      if (!Object.is(out[i], expected)) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it("converts integers and F64 by value", () => {
    expect(
      Array.from(toFloat32({ dtype: "I64", data: bytes(new BigInt64Array([-3n, 9n])) })),
    ).toEqual([-3, 9]);
    expect(Array.from(toFloat32({ dtype: "U8", data: new Uint8Array([255]) }))).toEqual([255]);
    expect(Array.from(toFloat32({ dtype: "F64", data: bytes(new Float64Array([0.5])) }))).toEqual([
      0.5,
    ]);
  });
});
