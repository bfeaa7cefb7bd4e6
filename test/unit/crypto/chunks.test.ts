import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DEFAULT_CHUNK_SIZE,
  chunkBounds,
  chunkCount,
  chunkIv,
  randomBaseIv,
  randomBaseIvs,
  rangeChunkIv,
} from "../../../src/crypto/chunks.js";
import { expectCode } from "../../support/expect-code.js";

const hex = (s: string): Buffer => Buffer.from(s, "hex");

describe("chunk arithmetic", () => {
  it("counts chunks as ceil, and one for an empty tensor", () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(2097152);
    expect(chunkCount(0, 4)).toBe(1);
    expect(chunkCount(1, 4)).toBe(1);
    expect(chunkCount(4, 4)).toBe(1);
    expect(chunkCount(5, 4)).toBe(2);
    expect(chunkCount(DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE)).toBe(1);
    expect(chunkCount(DEFAULT_CHUNK_SIZE + 1, DEFAULT_CHUNK_SIZE)).toBe(2);
  });

  it("cuts a range into chunk bounds (the last one short), or one whole (v1) range", () => {
    expect([0, 1, 2].map((i) => chunkBounds(10, 4, i))).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
    expect(chunkBounds(8, 4, 1)).toEqual({ start: 4, end: 8 });
    expect(chunkBounds(0, 4, 0)).toEqual({ start: 0, end: 0 });
    expect(chunkBounds(10, 0, 0)).toEqual({ start: 0, end: 10 });
  });

  it("refuses bad arguments with RangeError", () => {
    expect(() => chunkCount(4, 0)).toThrow(RangeError);
    expect(() => chunkCount(-1, 4)).toThrow(RangeError);
    expect(() => chunkCount(1.5, 4)).toThrow(RangeError);
    expect(() => chunkIv(Buffer.alloc(12), -1)).toThrow(RangeError);
  });
});

describe("chunk IVs", () => {
  it("adds the index to the big-endian counter in the last four bytes", () => {
    const base = hex("c0c1c2c3c4c5c6c7c8c9cacb");
    expect(chunkIv(base, 0).toString("hex")).toBe("c0c1c2c3c4c5c6c7c8c9cacb");
    expect(chunkIv(base, 1).toString("hex")).toBe("c0c1c2c3c4c5c6c7c8c9cacc");
    expect(chunkIv(hex("000000000000000000000000"), 0x01020304).toString("hex")).toBe(
      "000000000000000001020304",
    );
    expect(chunkIv(hex("0000000000000000000000ff"), 1).toString("hex")).toBe(
      "000000000000000000000100",
    );
  });

  it("base_iv ending fffffffe: chunks 0 and 1 are fine, chunk 2 overflows", () => {
    const base = hex("c0c1c2c3c4c5c6c7fffffffe");
    expect(chunkIv(base, 0).toString("hex")).toBe("c0c1c2c3c4c5c6c7fffffffe");
    expect(chunkIv(base, 1).toString("hex")).toBe("c0c1c2c3c4c5c6c7ffffffff");
    expectCode(() => chunkIv(base, 2), "ERR_COUNTER_OVERFLOW");
    expectCode(() => chunkIv(hex("000000000000000000000000"), 2 ** 32), "ERR_COUNTER_OVERFLOW");
  });

  it("reads the first 12 bytes of a longer base_iv (as the reference) and refuses a shorter one", () => {
    expect(chunkIv(hex("c0c1c2c3c4c5c6c7c8c9cacbffff"), 1).toString("hex")).toBe(
      "c0c1c2c3c4c5c6c7c8c9cacc",
    );
    expectCode(() => chunkIv(Buffer.alloc(11), 0), "ERR_INVALID_IV_LENGTH");
  });

  it("a range's chunk i: the base IV itself when whole (v1), else chunk firstChunk + i", () => {
    const base = hex("c0c1c2c3c4c5c6c7c8c9cacb");
    expect(rangeChunkIv(base, 0, 0, 0)).toBe(base);
    expect(Buffer.from(rangeChunkIv(base, 4, 5, 2)).toString("hex")).toBe(
      "c0c1c2c3c4c5c6c7c8c9cad2",
    );
  });

  it("does not modify the base IV", () => {
    const base = hex("c0c1c2c3c4c5c6c7c8c9cacb");
    chunkIv(base, 5);
    expect(base.toString("hex")).toBe("c0c1c2c3c4c5c6c7c8c9cacb");
  });

  it("draws base IVs whose counters leave room for every chunk", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 }), (chunks) => {
        const iv = randomBaseIv(chunks);
        expect(iv).toHaveLength(12);
        expect(iv.readUInt32BE(8) + chunks - 1).toBeLessThanOrEqual(0xffffffff);
        expect(() => chunkIv(iv, chunks - 1)).not.toThrow();
      }),
    );
    expect(randomBaseIv(2 ** 32).readUInt32BE(8)).toBe(0);
    expectCode(() => randomBaseIv(2 ** 32 + 1), "ERR_COUNTER_OVERFLOW");
    expect(randomBaseIv(1).equals(randomBaseIv(1))).toBe(false);
  });

  it("draws many base IVs at once, each with room for its chunks, each its own memory", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2 ** 32 }), { maxLength: 20 }), (counts) => {
        const ivs = randomBaseIvs(counts);
        expect(ivs).toHaveLength(counts.length);
        for (const [i, iv] of ivs.entries()) {
          const chunks = counts[i] as number;
          expect(iv).toHaveLength(12);
          expect(iv.readUInt32BE(8) + chunks - 1).toBeLessThanOrEqual(0xffffffff);
        }
      }),
    );
    expect(randomBaseIvs([2 ** 32])[0]?.readUInt32BE(8)).toBe(0);
    expectCode(() => randomBaseIvs([1, 2 ** 32 + 1]), "ERR_COUNTER_OVERFLOW");
    const ivs = randomBaseIvs(Array.from({ length: 300 }, () => 150));
    expect(new Set(ivs.map((iv) => iv.toString("hex"))).size).toBe(300);
    ivs[0]?.fill(0);
    expect(ivs[1]?.equals(Buffer.alloc(12))).toBe(false);
  });
});
