// Property: for random plaintexts and request shapes, native and fallback decrypt to the plaintext.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { getBackend } from "../../src/native/index.js";
import { ALGORITHMS, requestFor, tempDir, writeEncrypted } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const native = getBackend("native");
const fallback = getBackend("fallback");

describe("native and fallback agree", () => {
  it("on random lengths, chunk sizes and sub-ranges", async () => {
    let case_ = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 700 }),
        fc.nat(),
        fc.nat(),
        async (algorithm, length, chunkSize, firstSeed, countSeed) => {
          const f = writeEncrypted(dir, `p${case_++}`, algorithm, length, chunkSize);
          const total = chunkSize === 0 || length === 0 ? 1 : Math.ceil(length / chunkSize);
          const first = chunkSize === 0 ? 0 : firstSeed % total;
          const count = 1 + (countSeed % (total - first));
          const request = requestFor(f, algorithm, chunkSize, first, count);
          const start = chunkSize === 0 ? 0 : Math.min(first * chunkSize, length);
          const expected = f.plain.subarray(start, start + request.length);
          for (const backend of [native, fallback]) {
            const file = await backend.open(f.path);
            const dest = new Uint8Array(request.length);
            await file.decryptInto(request, dest);
            await file.close();
            expect(Buffer.from(dest).equals(expected)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
