// Both backends decrypt the same requests to the same bytes, with the same error codes.
import { expectCode } from "../support/expect-code.js";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, nativeStats } from "../../src/native/index.js";
import type { Backend, DecryptRequest } from "../../src/native/backend.js";
import { ALGORITHMS, requestFor, tempDir, writeEncrypted, type Fixture } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const backends: Backend[] = [getBackend("native"), getBackend("fallback")];

async function decryptWith(
  backend: Backend,
  f: Fixture,
  request: DecryptRequest,
  fill = 0,
): Promise<Uint8Array> {
  const file = await backend.open(f.path);
  try {
    const dest = new Uint8Array(request.length + 3).fill(fill);
    await file.decryptInto(request, dest);
    return dest;
  } finally {
    await file.close();
  }
}

// [length, chunkSize]: chunk sizes that do and do not divide the length, tiny and multi-MiB.
const SHAPES: Array<[number, number]> = [
  [0, 0],
  [1, 0],
  [1000, 0],
  [0, 16],
  [1, 16],
  [100, 16],
  [100, 7],
  [4096, 4096],
  [4097, 4096],
  [3 * 1024 * 1024 + 5, 256 * 1024],
  [5 * 1024 * 1024, 1024 * 1024],
];

describe.each(ALGORITHMS)("decryptInto %s", (algorithm) => {
  it.each(SHAPES)(
    "length %i, chunkSize %i: both backends return the plaintext",
    async (length, chunkSize) => {
      const f = writeEncrypted(
        dir,
        `${algorithm}-${length}-${chunkSize}`,
        algorithm,
        length,
        chunkSize,
      );
      const request = requestFor(f, algorithm, chunkSize);
      const [native, fallback] = await Promise.all(
        backends.map((b) => decryptWith(b, f, request, 0x5a)),
      );
      expect(Buffer.from(native!.subarray(0, length)).equals(f.plain)).toBe(true);
      expect(Buffer.from(native!).equals(Buffer.from(fallback!))).toBe(true);
      // Bytes past the range are left alone.
      expect([...native!.subarray(length)]).toEqual([0x5a, 0x5a, 0x5a]);
    },
  );

  it("decrypts sub-ranges that start at firstChunk > 0, including the short last chunk", async () => {
    const chunkSize = 1000;
    const f = writeEncrypted(dir, `${algorithm}-sub`, algorithm, 9_500, chunkSize);
    for (const [first, count] of [
      [1, 1],
      [3, 4],
      [9, 1],
      [0, 10],
      [5, 5],
    ] as const) {
      const request = requestFor(f, algorithm, chunkSize, first, count);
      const expected = f.plain.subarray(
        first * chunkSize,
        Math.min((first + count) * chunkSize, f.plain.length),
      );
      for (const backend of backends) {
        const out = await decryptWith(backend, f, request);
        expect(Buffer.from(out.subarray(0, request.length)).equals(expected)).toBe(true);
      }
    }
  });

  it("checks the tag of a zero-length range", async () => {
    const f = writeEncrypted(dir, `${algorithm}-empty`, algorithm, 0, 64);
    const request = requestFor(f, algorithm, 64);
    const bad = { ...request, tags: Buffer.from(request.tags).fill(0) };
    for (const backend of backends) {
      await expect(decryptWith(backend, f, request)).resolves.toBeDefined();
      await expectCode(decryptWith(backend, f, bad), "ERR_DECRYPTION_FAILED");
    }
  });

  it("a tampered tag or ciphertext fails with ERR_DECRYPTION_FAILED and leaves dest zeroed", async () => {
    const chunkSize = 64 * 1024;
    const f = writeEncrypted(
      dir,
      `${algorithm}-tamper`,
      algorithm,
      2 * 1024 * 1024 + 17,
      chunkSize,
    );
    const request = requestFor(f, algorithm, chunkSize);
    const tags = Buffer.from(request.tags);
    tags[tags.length - 5]! ^= 1; // last chunk: every other chunk has already been decrypted
    const wrongKey = { ...request, key: randomBytes(request.key.length) };
    for (const backend of backends) {
      for (const bad of [{ ...request, tags }, wrongKey]) {
        const file = await backend.open(f.path);
        const dest = new Uint8Array(request.length).fill(0xaa);
        await expectCode(file.decryptInto(bad, dest), "ERR_DECRYPTION_FAILED");
        expect(dest.every((b) => b === 0)).toBe(true);
        await file.close();
      }
    }
  });
});

describe("counter overflow", () => {
  it("rejects a range whose last chunk counter passes 0xFFFFFFFF, on both backends, before reading", async () => {
    const baseIv = Buffer.alloc(12, 7);
    baseIv.writeUInt32BE(0xffff_fffe, 8);
    const f = writeEncrypted(dir, "overflow", "aes256gcm", 48, 16, baseIv); // chunks 0..2 → counters …FE, …FF, overflow
    const ok = requestFor(f, "aes256gcm", 16, 0, 2);
    const over = requestFor(f, "aes256gcm", 16, 0, 3);
    const overByFirst = requestFor(f, "aes256gcm", 16, 2, 1);
    for (const backend of backends) {
      const out = await decryptWith(backend, f, ok);
      expect(Buffer.from(out.subarray(0, 32)).equals(f.plain.subarray(0, 32))).toBe(true);
      await expectCode(decryptWith(backend, f, over, 0x11), "ERR_COUNTER_OVERFLOW");
      await expectCode(decryptWith(backend, f, overByFirst), "ERR_COUNTER_OVERFLOW");
    }
  });

  it("decrypts the chunk whose counter is exactly 0xFFFFFFFF; one more is an overflow", async () => {
    const baseIv = Buffer.alloc(12, 1);
    baseIv.writeUInt32BE(0xffff_fffe, 8);
    const f = writeEncrypted(dir, "counter-edge", "chacha20poly1305", 32, 16, baseIv);
    const last = requestFor(f, "chacha20poly1305", 16, 1, 1); // IV counter 0xFFFFFFFF
    for (const backend of backends) {
      const out = await decryptWith(backend, f, last);
      expect(Buffer.from(out.subarray(0, 16)).equals(f.plain.subarray(16, 32))).toBe(true);
      await expectCode(decryptWith(backend, f, { ...last, firstChunk: 2 }), "ERR_COUNTER_OVERFLOW");
      await expectCode(
        decryptWith(backend, f, { ...last, firstChunk: 2 ** 40 }),
        "ERR_COUNTER_OVERFLOW",
      );
    }
  });
});

describe("the native path runs", () => {
  it("native decrypts are counted by the addon itself", async () => {
    const f = writeEncrypted(dir, "counted", "aes128gcm", 1000, 100);
    const before = nativeStats();
    await decryptWith(getBackend("native"), f, requestFor(f, "aes128gcm", 100));
    await decryptWith(getBackend("fallback"), f, requestFor(f, "aes128gcm", 100));
    const after = nativeStats();
    expect(after.decrypts - before.decrypts).toBe(1);
    expect(after.bytes - before.bytes).toBe(1000);
  });
});
