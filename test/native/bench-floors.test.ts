// The benchmarks' native floors (native/bench-copy.h): the AEAD compute floor (aeadInCache) really
// decrypts and checks tags on every engine and algorithm, and populate only takes arena memory.
// Their speed is measured by bench/ (never here).
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { loadNativeBinding } from "../../src/native/addon.js";
import { nativeInfo, setAesEngine } from "../../src/native/index.js";

const binding = loadNativeBinding();
const initialEngine = nativeInfo().aesGcmEngine;
afterAll(() => setAesEngine(initialEngine));
const engines = nativeInfo().aesGcmEngines;

describe("aeadInCache", () => {
  for (const engine of engines)
    for (const [algorithm, keyBytes] of [
      [0, 16],
      [1, 32],
      [2, 32],
    ] as const)
      it(`decrypts with verified tags: ${engine}, algorithm ${algorithm}`, async () => {
        setAesEngine(engine);
        expect(nativeInfo().aesGcmEngine).toBe(engine);
        // 5 MiB + 1 byte in 256 KiB messages on two threads, then one message on one thread.
        const key = randomBytes(keyBytes);
        expect(await binding.aeadInCache(algorithm, key, (5 << 20) + 1, 256 << 10, 2)).toBe(0);
        expect(await binding.aeadInCache(algorithm, key, 1, 64, 1)).toBe(0);
      });

  it("refuses bad arguments with RangeError/TypeError", () => {
    const key = randomBytes(32);
    expect(() => binding.aeadInCache(1, key, 1 << 20, 100, 2)).toThrow(RangeError);
    expect(() => binding.aeadInCache(1, key, 1 << 20, 32 << 20, 2)).toThrow(RangeError);
    expect(() => binding.aeadInCache(1, key, 1 << 20, 0, 2)).toThrow(RangeError);
    expect(() => binding.aeadInCache(1, key, 1 << 20, 4096, 0)).toThrow(RangeError);
    expect(() => binding.aeadInCache(1, randomBytes(16), 1 << 20, 4096, 1)).toThrow(RangeError);
    expect(() => binding.aeadInCache(9, key, 1 << 20, 4096, 1)).toThrow();
  });
});

describe("populate", () => {
  it("faults in fresh arena memory, which stays zero", async () => {
    const view = new Uint8Array(binding.allocateArena((8 << 20) + 4096));
    expect(await binding.populate(view)).toBe(0);
    expect(view.every((byte) => byte === 0)).toBe(true);
  });

  it("refuses memory that is not an arena's", () => {
    expect(() => binding.populate(new Uint8Array(1 << 20))).toThrow(TypeError);
    expect(() => binding.populate(new Uint8Array(0))).toThrow(TypeError);
  });
});
