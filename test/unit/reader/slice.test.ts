import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { groupRuns, planSlice } from "../../../src/reader/slice.js";

/** Reference slicing by enumerating every element (row-major). */
function naiveSlice(
  shape: number[],
  ranges: Array<[number, number]>,
  elementBytes: number,
): number[] {
  const out: number[] = [];
  const total = shape.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    const index = new Array<number>(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    if (ranges.every(([s, e], d) => index[d]! >= s && index[d]! < e)) {
      for (let b = 0; b < elementBytes; b++) out.push(flat * elementBytes + b);
    }
  }
  return out;
}

describe("planSlice", () => {
  it("slices the first dimension as one run", () => {
    const plan = planSlice("w", "F32", [10, 4], [[2, 5]]);
    expect(plan.shape).toEqual([3, 4]);
    expect(plan.runs).toEqual([[32, 80]]);
    expect(plan.byteLength).toBe(48);
  });

  it("takes the whole tensor for no ranges, including scalars", () => {
    expect(planSlice("s", "F64", [], []).runs).toEqual([[0, 8]]);
    expect(planSlice("e", "F64", [0, 3], [[0, 0]]).runs).toEqual([]);
  });

  it("refuses out-of-range and malformed ranges", () => {
    expect(() => planSlice("w", "F32", [4], [[0, 5]])).toThrow(RangeError);
    expect(() => planSlice("w", "F32", [4], [[3, 2]])).toThrow(RangeError);
    expect(() =>
      planSlice(
        "w",
        "F32",
        [4],
        [
          [0, 1],
          [0, 1],
        ],
      ),
    ).toThrow(RangeError);
    expect(() => planSlice("w", "F32", [4], [[0.5, 1] as unknown as [number, number]])).toThrow(
      TypeError,
    );
  });

  it("refuses sub-byte slices that do not fall on byte boundaries", () => {
    expect(() => planSlice("q", "F4", [3, 3], [[0, 1]])).toThrow(/byte boundary/);
    expect(planSlice("q", "F4", [4, 2], [[1, 3]]).runs).toEqual([[1, 3]]);
  });

  it("matches element-by-element slicing for random shapes and ranges", () => {
    const arbitrary = fc
      .array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 })
      .chain((shape) =>
        fc.tuple(
          fc.constant(shape),
          fc
            .integer({ min: 0, max: shape.length })
            .chain((k) =>
              fc.tuple(
                ...shape
                  .slice(0, k)
                  .map((size) =>
                    fc
                      .tuple(fc.integer({ min: 0, max: size }), fc.integer({ min: 0, max: size }))
                      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
                  ),
              ),
            ),
        ),
      );
    fc.assert(
      fc.property(arbitrary, ([shape, ranges]) => {
        const plan = planSlice("t", "I16", shape, ranges);
        const bytes = plan.runs.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i));
        expect(bytes).toEqual(naiveSlice(shape, ranges, 2));
        expect(plan.byteLength).toBe(bytes.length);
      }),
    );
  });
});

describe("groupRuns", () => {
  it("never groups across a chunk no run touches", () => {
    // chunk size 10: runs in chunks 0 and 2 stay apart; runs in chunks 2 and 3 merge.
    const spans = groupRuns(
      [
        [0, 2],
        [25, 27],
        [31, 33],
      ],
      10,
    );
    expect(spans.map((s) => [s.start, s.end])).toEqual([
      [0, 2],
      [25, 33],
    ]);
  });

  it("merges nearby plain runs", () => {
    expect(
      groupRuns(
        [
          [0, 2],
          [10, 12],
        ],
        null,
      ),
    ).toHaveLength(1);
    expect(
      groupRuns(
        [
          [0, 2],
          [3 << 20, (3 << 20) + 1],
        ],
        null,
      ),
    ).toHaveLength(2);
  });
});
