import { describe, expect, it } from "vitest";
import { tensorByteLength, tensorByteLengthBig } from "../../../src/format/size.js";

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe("tensorByteLength", () => {
  it("multiplies elements by the dtype size", () => {
    expect(tensorByteLength("F32", [2, 3])).toBe(24);
    expect(tensorByteLength("BF16", [5])).toBe(10);
    expect(tensorByteLength("C64", [1, 1, 1])).toBe(8);
    expect(tensorByteLength("BOOL", [])).toBe(1);
    expect(tensorByteLength("F64", [0, 7])).toBe(0);
    expect(tensorByteLength("I64", [3n, 2n])).toBe(48);
  });

  it("handles sub-byte dtypes when the bits fill whole bytes", () => {
    expect(tensorByteLength("F4", [2])).toBe(1);
    expect(tensorByteLength("F4", [3, 2])).toBe(3);
    expect(tensorByteLength("F6_E2M3", [4])).toBe(3);
    expect(tensorByteLength("F6_E3M2", [0])).toBe(0);
    expect(code(() => tensorByteLength("F4", [3]))).toBe("ERR_MISALIGNED_SLICE");
    expect(code(() => tensorByteLength("F6_E2M3", [2]))).toBe("ERR_MISALIGNED_SLICE");
    expect(code(() => tensorByteLength("F4", []))).toBe("ERR_MISALIGNED_SLICE");
  });

  it("is exact above 2^53 and reports overflow past u64", () => {
    expect(tensorByteLengthBig("U8", [1n << 30n, 1n << 30n])).toBe(1n << 60n);
    // Like the reference, the bit count (elements × bits) must fit u64 too.
    expect(code(() => tensorByteLengthBig("U8", [1n << 32n, 1n << 29n]))).toBe(
      "ERR_VALIDATION_OVERFLOW",
    );
    expect(tensorByteLengthBig("U64", [(1n << 58n) - 1n])).toBe(((1n << 58n) - 1n) * 8n);
    expect(code(() => tensorByteLengthBig("U8", [1n << 32n, 1n << 32n]))).toBe(
      "ERR_VALIDATION_OVERFLOW",
    );
    expect(code(() => tensorByteLengthBig("U16", [1n << 61n]))).toBe("ERR_VALIDATION_OVERFLOW");
    // Past 2^53−1 bytes the number form cannot be exact, so it reports overflow too.
    expect(code(() => tensorByteLength("U8", [2 ** 30, 2 ** 30, 2 ** 30]))).toBe(
      "ERR_VALIDATION_OVERFLOW",
    );
    expect(tensorByteLength("U8", [Number.MAX_SAFE_INTEGER])).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("treats a bad shape as API misuse", () => {
    expect(() => tensorByteLength("U8", [-1])).toThrow(RangeError);
    expect(() => tensorByteLength("U8", [1.5])).toThrow(RangeError);
    expect(() => tensorByteLength("U8", [2 ** 53])).toThrow(RangeError);
    expect(() => tensorByteLengthBig("U8", [-1n])).toThrow(RangeError);
  });
});
