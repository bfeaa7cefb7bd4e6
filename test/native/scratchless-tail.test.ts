// Issue 13, peak RSS: a plan that writes the end of its arena while that memory is still fresh
// (the last batch of a load into new memory) runs the units of its last few MiB without the
// threads' scratch buffers — ciphertext lands in the destination, its tag is verified there, then
// it is decrypted in place (native/plan.cc). These tests check that this tail really runs (the
// addon's stats() counter), that it gives the right plaintext with both AES-GCM engines and
// ChaCha20-Poly1305, that it refuses tampered bytes and wipes the destination, and that a warm
// destination or one that stops short of its arena's end keeps the scratch path.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { type AesEngineName, loadNativeBinding } from "../../src/native/addon.js";
import { allocateArena, getBackend, nativeInfo, setAesEngine } from "../../src/native/index.js";
import type { AeadAlgorithm } from "../../src/native/backend.js";
import { requestFor, tempDir, writeEncrypted } from "./helpers.js";

const { dir, cleanup } = tempDir();
const initial = nativeInfo().aesGcmEngine;
afterAll(() => {
  setAesEngine(initial);
  cleanup();
});
afterEach(() => setAesEngine(initial));

const binding = loadNativeBinding();
const tailUnits = () => binding.stats().scratchlessTailUnits;
const CHUNK = 1 << 20;
// Longer than the tail on any pool width up to 16 threads (width x 2 MiB scratch + 2 MiB), so
// that the plan has units on both paths; not a multiple of the chunk (a short last chunk).
const LENGTH = 40 * CHUNK + 4099;
const CHUNKS = Math.ceil(LENGTH / CHUNK);

const CASES: Array<{ engine: AesEngineName; algorithm: AeadAlgorithm }> = [
  ...nativeInfo()
    .aesGcmEngines.filter((engine) => engine !== "openssl")
    .map((engine) => ({ engine, algorithm: "aes256gcm" as const })),
  { engine: "openssl", algorithm: "aes256gcm" },
  { engine: "openssl", algorithm: "aes128gcm" },
  { engine: "openssl", algorithm: "chacha20poly1305" },
];

let counter = 0;

describe("the scratchless tail of a load into fresh memory (issue 13)", () => {
  for (const { engine, algorithm } of CASES) {
    it(`${engine} ${algorithm}: right plaintext into a fresh arena, scratch path when warm or short of the end`, async () => {
      setAesEngine(engine);
      const f = writeEncrypted(dir, `tail${counter++}`, algorithm, LENGTH, CHUNK);
      const file = await getBackend("native").open(f.path);
      try {
        const dest = new Uint8Array(allocateArena(LENGTH));
        const before = tailUnits();
        await file.decryptInto(requestFor(f, algorithm, CHUNK), dest);
        const ran = tailUnits() - before;
        expect(Buffer.from(dest.buffer, dest.byteOffset, dest.byteLength).equals(f.plain)).toBe(
          true,
        );
        expect(ran).toBeGreaterThan(0);
        expect(ran).toBeLessThan(CHUNKS);

        // The same arena again: its pages are resident, so the whole plan keeps the scratch path.
        dest.fill(0);
        const warm = tailUnits();
        await file.decryptInto(requestFor(f, algorithm, CHUNK), dest);
        expect(tailUnits()).toBe(warm);
        expect(Buffer.from(dest).equals(f.plain)).toBe(true);

        // A fresh arena whose end the plan does not reach (more loads may follow into it).
        const longer = new Uint8Array(allocateArena(LENGTH + 8 * CHUNK));
        const short = tailUnits();
        await file.decryptInto(requestFor(f, algorithm, CHUNK), longer.subarray(0, LENGTH));
        expect(tailUnits()).toBe(short);
        expect(Buffer.from(longer.subarray(0, LENGTH)).equals(f.plain)).toBe(true);
      } finally {
        await file.close();
      }
    });

    it(`${engine} ${algorithm}: a flipped ciphertext bit in the tail, or a flipped tag bit, fails and wipes the destination`, async () => {
      setAesEngine(engine);
      const f = writeEncrypted(dir, `tailbad${counter++}`, algorithm, LENGTH, CHUNK);
      const bytes = readFileSync(f.path);
      bytes[f.dataStart + LENGTH - CHUNK - 5]! ^= 0x10; // in the second-to-last chunk
      writeFileSync(f.path, bytes);
      const badTag = requestFor(f, algorithm, CHUNK);
      const tags = Uint8Array.from(badTag.tags);
      tags[(CHUNKS - 1) * 16 + 3]! ^= 0x01; // the last chunk's tag
      const file = await getBackend("native").open(f.path);
      try {
        for (const request of [requestFor(f, algorithm, CHUNK), { ...badTag, tags }]) {
          const dest = new Uint8Array(allocateArena(LENGTH));
          const before = tailUnits();
          await expect(file.decryptInto(request, dest)).rejects.toSatisfy(
            (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_DECRYPTION_FAILED",
          );
          expect(tailUnits()).toBeGreaterThan(before);
          expect(dest.every((b) => b === 0)).toBe(true);
        }
      } finally {
        await file.close();
      }
    });
  }
});
