// Property: for random plaintexts, keys, IVs and job shapes, the native and the node:crypto
// backends seal to the same bytes and tags, and the result opens with the one-shot AEAD of
// src/crypto/aead.ts (an independent oracle, so that two identical bugs cannot agree).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { open } from "../../src/crypto/aead.js";
import { chunkIv, coveredChunks } from "../../src/crypto/chunks.js";
import { loadNativeBinding } from "../../src/native/addon.js";
import { getBackend, type SealJob } from "../../src/native/index.js";
import { expectCode } from "../support/expect-code.js";
import { ALGORITHMS } from "./helpers.js";

const native = getBackend("native");
const fallback = getBackend("fallback");
const KEY_LENGTHS = { aes128gcm: 16, aes256gcm: 32, chacha20poly1305: 32 } as const;

function jobFor(
  algorithm: SealJob["algorithm"],
  key: Uint8Array,
  baseIv: Uint8Array,
  plaintext: Uint8Array,
  chunkSize: number,
  firstChunk: number,
): SealJob {
  return {
    algorithm,
    key,
    baseIv,
    firstChunk,
    chunkSize,
    plaintext,
    ciphertext: new Uint8Array(plaintext.length),
    tags: new Uint8Array(coveredChunks(plaintext.length, chunkSize) * 16),
  };
}

describe("native and fallback agree on sealing", () => {
  it("byte for byte on random keys, IVs, lengths, chunk sizes and first chunks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 0xffff_fff0 }),
        fc.uint8Array({ minLength: 0, maxLength: 5000 }),
        fc.integer({ min: 0, max: 700 }),
        fc.integer({ min: 0, max: 10 }),
        async (algorithm, keyBytes, ivHead, counter, plaintext, chunkSize, firstSeed) => {
          const key = keyBytes.subarray(0, KEY_LENGTHS[algorithm]);
          const baseIv = new Uint8Array(12);
          baseIv.set(ivHead);
          new DataView(baseIv.buffer).setUint32(8, counter, false);
          const firstChunk = chunkSize === 0 ? 0 : firstSeed;
          const a = jobFor(algorithm, key, baseIv, plaintext, chunkSize, firstChunk);
          const b = jobFor(algorithm, key, baseIv, plaintext, chunkSize, firstChunk);
          await native.seal(a);
          await fallback.seal(b);
          expect(Buffer.from(a.ciphertext).equals(b.ciphertext)).toBe(true);
          expect(Buffer.from(a.tags).equals(b.tags)).toBe(true);
          // The first chunk opens with the one-shot AEAD under its own IV.
          const end = chunkSize === 0 ? plaintext.length : Math.min(plaintext.length, chunkSize);
          const iv = chunkSize === 0 ? baseIv : chunkIv(baseIv, firstChunk);
          const opened = open(
            algorithm,
            key,
            iv,
            a.ciphertext.subarray(0, end),
            a.tags.subarray(0, 16),
          );
          expect(Buffer.from(opened).equals(plaintext.subarray(0, end))).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("reject the same bad jobs with the same errors", async () => {
    const key = new Uint8Array(32);
    const good = () => jobFor("aes256gcm", key, new Uint8Array(12), new Uint8Array(10), 4, 0);
    const overflowIv = new Uint8Array(12).fill(0xff);
    for (const backend of [native, fallback]) {
      await expectCode(
        backend.seal({ ...good(), key: new Uint8Array(31) }),
        "ERR_INVALID_KEY_LENGTH",
      );
      await expectCode(
        backend.seal({ ...good(), baseIv: new Uint8Array(11) }),
        "ERR_INVALID_IV_LENGTH",
      );
      await expectCode(backend.seal({ ...good(), baseIv: overflowIv }), "ERR_COUNTER_OVERFLOW");
      await expect(backend.seal({ ...good(), tags: new Uint8Array(16) })).rejects.toThrow(
        RangeError,
      );
      await expect(backend.seal({ ...good(), ciphertext: new Uint8Array(9) })).rejects.toThrow(
        RangeError,
      );
      await expect(
        backend.seal({ ...good(), chunkSize: 0, firstChunk: 1, tags: new Uint8Array(16) }),
      ).rejects.toThrow(RangeError);
      expect(() => backend.wholeSealer("aes256gcm", key, new Uint8Array(8))).toThrow(/IV/);
    }
  });
});

describe("sealAll: several jobs as one", () => {
  it("gives each job the bytes and tags of its own seal, on both backends", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.integer({ min: 1, max: 700 }),
        fc.array(
          fc.record({
            keyByte: fc.integer({ min: 0, max: 255 }),
            ivByte: fc.integer({ min: 0, max: 255 }),
            plaintext: fc.uint8Array({ minLength: 0, maxLength: 3000 }),
            firstChunk: fc.integer({ min: 0, max: 10 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (algorithm, chunkSize, specs) => {
          // Parts with different keys and IVs share one buffer, back to back (as in a writer batch).
          const total = specs.reduce((sum, s) => sum + s.plaintext.length, 0);
          const shared = new Uint8Array(total);
          let at = 0;
          const make = () =>
            specs.map((s) => {
              const key = new Uint8Array(KEY_LENGTHS[algorithm]).fill(s.keyByte);
              const baseIv = new Uint8Array(12).fill(s.ivByte);
              baseIv.fill(0, 8);
              return jobFor(algorithm, key, baseIv, s.plaintext, chunkSize, s.firstChunk);
            });
          const one = make();
          for (const job of one) await native.seal(job);
          for (const backend of [native, fallback]) {
            const all = make();
            at = 0;
            for (const job of all) {
              job.ciphertext = shared.subarray(at, at + job.plaintext.length);
              at += job.plaintext.length;
            }
            shared.fill(0);
            await backend.sealAll(all);
            for (const [i, job] of all.entries()) {
              const expected = one[i] as SealJob;
              expect(Buffer.from(job.ciphertext).equals(expected.ciphertext)).toBe(true);
              expect(Buffer.from(job.tags).equals(expected.tags)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("checks every job before sealing any, with seal's errors", async () => {
    const key = new Uint8Array(32);
    const good = () => jobFor("aes256gcm", key, new Uint8Array(12), new Uint8Array(10), 4, 0);
    for (const backend of [native, fallback]) {
      const first = good();
      await expectCode(
        backend.sealAll([first, { ...good(), key: new Uint8Array(31) }]),
        "ERR_INVALID_KEY_LENGTH",
      );
      expect(first.tags.every((b) => b === 0)).toBe(true);
      await expectCode(
        backend.sealAll([good(), { ...good(), baseIv: new Uint8Array(12).fill(0xff) }]),
        "ERR_COUNTER_OVERFLOW",
      );
      await expect(
        backend.sealAll([good(), { ...good(), tags: new Uint8Array(16) }]),
      ).rejects.toThrow(RangeError);
      await expect(backend.sealAll("jobs" as never)).rejects.toThrow(TypeError);
      await expect(backend.sealAll([])).resolves.toBeUndefined();
    }
    // The addon itself refuses a call that is not whole parts of six arguments.
    const binding = loadNativeBinding();
    const part = [
      key,
      new Uint8Array(12),
      0,
      new Uint8Array(4),
      new Uint8Array(4),
      new Uint8Array(16),
    ];
    const sealBatch = binding.sealBatch?.bind(binding);
    if (!sealBatch) throw new Error("this addon build has no sealBatch: rebuild it");
    expect(() => sealBatch(1, 4)).toThrow(TypeError);
    expect(() => sealBatch(1, 4, ...part, key)).toThrow(TypeError);
    expect(() => sealBatch(1, 0, ...part)).toThrow(RangeError);
    const other = [
      key,
      new Uint8Array(12),
      5,
      new Uint8Array(4),
      new Uint8Array(4),
      new Uint8Array(16),
    ];
    await expect(sealBatch(1, 4, ...part, ...other)).resolves.toBe(0);
  });
});
