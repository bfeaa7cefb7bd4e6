// Range planning for remote reads: nearby pieces share a request up to the cap, far ones do not,
// a piece larger than the cap is split, and scattered bytes land in every piece they overlap.
import { describe, expect, it } from "vitest";
import { evenRangeBytes, planRanges, scatter } from "../../src/source/range-plan.js";

const piece = (offset: number, length: number) => ({
  offset,
  length,
  dest: new Uint8Array(length),
});

describe("planRanges", () => {
  it("merges pieces within the gap up to the cap, splits large ones, skips empty ones", () => {
    const limits = { maxGap: 10, maxRange: 100 };
    expect(planRanges([piece(0, 40), piece(45, 40), piece(200, 5), piece(90, 0)], limits)).toEqual([
      { start: 0, end: 85, pieces: [0, 1] },
      { start: 200, end: 205, pieces: [2] },
    ]);
    // The cap wins over the gap; order of input does not matter.
    expect(planRanges([piece(60, 50), piece(0, 60)], limits)).toEqual([
      { start: 0, end: 60, pieces: [1] },
      { start: 60, end: 110, pieces: [0] },
    ]);
    expect(planRanges([piece(5, 250)], limits)).toEqual([
      { start: 5, end: 105, pieces: [0] },
      { start: 105, end: 205, pieces: [0] },
      { start: 205, end: 255, pieces: [0] },
    ]);
  });

  it("scatter copies body bytes into the pieces and reports the completed ones", () => {
    const pieces = [piece(0, 4), piece(6, 4)];
    const [range] = planRanges(pieces, { maxGap: 2, maxRange: 100 });
    const remaining = [4, 4];
    const body = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(scatter(range!, pieces, remaining, 0, body.subarray(0, 7))).toEqual([0]);
    expect(scatter(range!, pieces, remaining, 7, body.subarray(7))).toEqual([1]);
    expect([...pieces[0]!.dest]).toEqual([0, 1, 2, 3]);
    expect([...pieces[1]!.dest]).toEqual([6, 7, 8, 9]);
  });
});

describe("evenRangeBytes", () => {
  const MiB = 1 << 20;
  const chunks = (count: number, size = 2 * MiB) =>
    Array.from({ length: count }, (_, i) => ({ offset: 4096 + i * size, length: size }));
  const count = (pieces: { offset: number; length: number }[], cap: number, connections: number) =>
    planRanges(pieces, { maxGap: 65536, maxRange: evenRangeBytes(pieces, cap, connections) })
      .length;

  it("cuts a large read into one range per connection, or a multiple of that", () => {
    expect(count(chunks(128), 64 * MiB, 6)).toBe(6); // 256 MiB: every connection busy once
    expect(count(chunks(128), 64 * MiB, 4)).toBe(4);
    expect(count(chunks(512), 64 * MiB, 6)).toBe(18); // 1 GiB: three rounds of six
    expect(evenRangeBytes(chunks(512), 64 * MiB, 6)).toBeLessThanOrEqual(64 * MiB);
  });

  it("keeps small reads in ranges of 8 MiB, and never exceeds the cap", () => {
    expect(evenRangeBytes(chunks(2), 64 * MiB, 6)).toBe(8 * MiB);
    expect(count(chunks(8), 64 * MiB, 6)).toBe(2); // 16 MiB: as with 8 MiB ranges
    expect(evenRangeBytes(chunks(128), MiB, 6)).toBe(MiB); // a caller's smaller cap wins
    expect(evenRangeBytes([{ length: 256 * MiB }], 64 * MiB, 6)).toBe(64 * MiB); // one v1 tensor
  });
});
