import { describe, expect, it } from "vitest";
import { DTYPES, dtypeBits, dtypeRank, isDtype } from "../../../src/format/dtype.js";

describe("dtype", () => {
  it("lists the 20 dtypes in the rank order of FORMAT.md §1.4", () => {
    expect(DTYPES.join(" ")).toBe(
      "BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64",
    );
    expect(Object.isFrozen(DTYPES)).toBe(true);
    DTYPES.forEach((d, i) => expect(dtypeRank(d)).toBe(i));
  });

  it("knows the bit sizes of FORMAT.md §1.3", () => {
    const bits = Object.fromEntries(DTYPES.map((d) => [d, dtypeBits(d)]));
    expect(bits).toEqual({
      BOOL: 8,
      F4: 4,
      F6_E2M3: 6,
      F6_E3M2: 6,
      U8: 8,
      I8: 8,
      F8_E5M2: 8,
      F8_E4M3: 8,
      F8_E8M0: 8,
      I16: 16,
      U16: 16,
      F16: 16,
      BF16: 16,
      I32: 32,
      U32: 32,
      F32: 32,
      C64: 64,
      F64: 64,
      I64: 64,
      U64: 64,
    });
  });

  it("recognizes exact names only", () => {
    for (const d of DTYPES) expect(isDtype(d)).toBe(true);
    for (const s of ["f32", "F8_E4M3FN", "", "float32", "toString", "__proto__", "F32 "])
      expect(isDtype(s)).toBe(false);
  });

  it("rejects non-dtypes passed around the type system", () => {
    expect(() => dtypeBits("X" as never)).toThrow(TypeError);
    expect(() => dtypeRank("toString" as never)).toThrow(TypeError);
  });
});
