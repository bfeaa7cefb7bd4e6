// The addon's memory mode (openMemory, issue 16): a handle over addon-owned memory that a remote
// source receives ciphertext into. Plans read it exactly like a mapped file; a range read once is
// dropped from memory; the ArrayBuffer outlives the handle (a late write never touches freed
// memory); bad arguments are TypeError/RangeError. openArenaView: a handle over a fresh arena
// destination whose ciphertext is decrypted where it landed, pages kept.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadNativeBinding, type NativeFileHandle } from "../../src/native/addon.js";
import { ALGORITHM_IDS, packPlan } from "../../src/native/plan-table.js";
import { NativeStatus } from "../../src/native/status.js";
import { encryptTensor } from "./helpers.js";

const binding = loadNativeBinding();
/** Memory the addon owns: the only memory its threads write into (native/arena.h). */
const arena = (bytes: number) => new Uint8Array(binding.allocateArena(bytes));

function openMemory(size: number): { handle: NativeFileHandle; memory: Uint8Array } {
  const opened = binding.openMemory(size);
  if (typeof opened === "number") throw new Error(`openMemory failed with status ${opened}`);
  return { handle: opened.handle, memory: new Uint8Array(opened.memory) };
}

describe("addon memory mode", () => {
  it("decrypts staged ciphertext on the pool, as from a mapped file", async () => {
    const key = randomBytes(32);
    const baseIv = randomBytes(12);
    const chunkSize = 1 << 20;
    const plain = randomBytes(5 * chunkSize + 12345);
    const sealed = encryptTensor("aes256gcm", key, baseIv, plain, chunkSize);
    const { handle, memory } = openMemory(sealed.ciphertext.length + 100);
    expect(handle.size).toBe(sealed.ciphertext.length + 100);
    memory.set(sealed.ciphertext, 100);
    const dest = arena(plain.length);
    const request = {
      algorithm: "aes256gcm" as const,
      key,
      fileOffset: 100,
      length: plain.length,
      chunkSize,
      firstChunk: 0,
      baseIv,
      tags: sealed.tags,
    };
    const { table, keys, ivs, tags, dests } = packPlan(handle.size, [
      { kind: "decrypt", request, dest },
    ]);
    expect(await handle.plan(table, keys, ivs, tags, dests, new Float64Array(1))).toBe(0);
    expect(Buffer.from(dest).equals(plain)).toBe(true);
    // Read once, then dropped: whole pages of the range are zero now (the rest stays).
    expect(memory.subarray(4096, 8192).every((byte) => byte === 0)).toBe(true);
    const again = arena(plain.length);
    const status = await handle.decrypt(
      ALGORITHM_IDS.aes256gcm,
      key,
      100,
      plain.length,
      chunkSize,
      0,
      baseIv,
      sealed.tags,
      again,
    );
    expect(status).toBe(NativeStatus.decryptFailed);
    expect(again.every((byte) => byte === 0)).toBe(true);
    await handle.close();
  });

  it("reads plain ranges; after close reads are refused and the memory stays writable", async () => {
    const { handle, memory } = openMemory(10_000);
    memory.set(randomBytes(10_000));
    const expected = Buffer.from(memory.subarray(10, 5010));
    const dest = arena(5000);
    expect(await handle.read(10, 5000, dest)).toBe(0);
    expect(Buffer.from(dest).equals(expected)).toBe(true);
    expect(await handle.read(9000, 1001, arena(1001))).toBe(NativeStatus.truncated);
    await handle.close();
    expect(await handle.read(0, 1, arena(1))).toBe(NativeStatus.closed);
    memory.fill(7); // the mapping lives as long as this view
    expect(memory[9999]).toBe(7);
  });

  it("handles size 0 and refuses bad sizes", async () => {
    const { handle, memory } = openMemory(0);
    expect(memory.byteLength).toBe(0);
    expect(await handle.read(0, 0, new Uint8Array(0))).toBe(0);
    await handle.close();
    const raw = binding as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => raw["openMemory"]!("1")).toThrow(TypeError);
    for (const size of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => raw["openMemory"]!(size)).toThrow(RangeError);
    }
    expect(() => raw["adviseHugePages"]!("x")).toThrow(TypeError);
    expect(binding.adviseHugePages(new Uint8Array(8 << 20))).toBeUndefined();
  });

  it("openArenaView decrypts chunks in place (sub-page chunks too) and keeps every page", async () => {
    const key = randomBytes(32);
    const baseIv = randomBytes(12);
    for (const chunkSize of [1 << 20, 1000]) {
      const plain = randomBytes(3 * (1 << 20) + 777);
      const sealed = encryptTensor("aes256gcm", key, baseIv, plain, chunkSize);
      const dest = arena(plain.length + 64).subarray(64);
      dest.set(sealed.ciphertext);
      const handle = binding.openArenaView(dest);
      if (typeof handle === "number") throw new Error(`openArenaView failed with status ${handle}`);
      expect(handle.size).toBe(plain.length);
      // Two plans on two halves, as a remote load runs them while the rest still arrives.
      const cut = Math.floor(plain.length / chunkSize / 2) * chunkSize;
      for (const [start, end] of [
        [cut, plain.length],
        [0, cut],
      ] as const) {
        const request = {
          algorithm: "aes256gcm" as const,
          key,
          fileOffset: start,
          length: end - start,
          chunkSize,
          firstChunk: start / chunkSize,
          baseIv,
          tags: sealed.tags.subarray((start / chunkSize) * 16, Math.ceil(end / chunkSize) * 16),
        };
        const { table, keys, ivs, tags, dests } = packPlan(handle.size, [
          { kind: "decrypt", request, dest: dest.subarray(start, end) },
        ]);
        expect(await handle.plan(table, keys, ivs, tags, dests, new Float64Array(1), true)).toBe(0);
      }
      await handle.close();
      expect(Buffer.from(dest).equals(plain)).toBe(true); // nothing dropped, not even at close
    }
    // A tampered chunk fails and the failed plan wipes its destination.
    const plain = randomBytes(4096);
    const sealed = encryptTensor("aes256gcm", key, baseIv, plain, 1024);
    const dest = arena(plain.length);
    dest.set(sealed.ciphertext);
    dest[2000]! ^= 1;
    const handle = binding.openArenaView(dest) as NativeFileHandle;
    const request = {
      algorithm: "aes256gcm" as const,
      key,
      fileOffset: 0,
      length: plain.length,
      chunkSize: 1024,
      firstChunk: 0,
      baseIv,
      tags: sealed.tags,
    };
    const { table, keys, ivs, tags, dests } = packPlan(handle.size, [
      { kind: "decrypt", request, dest },
    ]);
    expect(await handle.plan(table, keys, ivs, tags, dests, new Float64Array(1), true)).toBe(
      NativeStatus.decryptFailed,
    );
    expect(dest.every((byte) => byte === 0)).toBe(true);
    await handle.close();
  });

  it("openArenaView refuses memory that is not an arena's", () => {
    const raw = binding as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => binding.openArenaView(new Uint8Array(4096))).toThrow(TypeError);
    expect(() => binding.openArenaView(arena(4096).subarray(0, 0))).toThrow(TypeError);
    expect(() => raw["openArenaView"]!("x")).toThrow(TypeError);
  });
});
