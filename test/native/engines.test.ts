// Known answers for every AES-GCM engine of the addon this CPU runs (ipsec-mb, the addon's own
// VAES/AVX2 code, OpenSSL) against node:crypto:
// every algorithm, lengths around 0, the AES block, the chunk size and the 256 KiB landing piece,
// multi-MiB, a v1 tensor above the scratch size, and every destination alignment 0..63 — for decryption (decryptInto, runPlan) and for sealing (seal).
import { createCipheriv, randomBytes, type CipherGCMTypes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { type AesEngineName, loadNativeBinding } from "../../src/native/addon.js";
import { allocateArena, getBackend, nativeInfo, setAesEngine } from "../../src/native/index.js";
import {
  ALGORITHMS,
  chunkIvOf,
  requestFor,
  tempDir,
  writeEncrypted,
  type Fixture,
} from "./helpers.js";
import type { AeadAlgorithm } from "../../src/native/backend.js";

const { dir, cleanup } = tempDir();
const initial = nativeInfo().aesGcmEngine;
afterAll(() => {
  setAesEngine(initial);
  cleanup();
});
afterEach(() => setAesEngine(initial));

const ENGINES: AesEngineName[] = nativeInfo().aesGcmEngines;
// The engine a fresh process picks by default: the fastest this CPU runs.
const DEFAULT_ENGINE = ENGINES[0];
const CHUNK = 64 * 1024;
// 256 KiB: the pieces in which ciphertext lands and is hashed or decrypted while hot (plan.cc).
const PIECE = 256 * 1024;
const LENGTHS = [
  0,
  1,
  15,
  16,
  17,
  CHUNK - 1,
  CHUNK,
  CHUNK + 1,
  PIECE - 1,
  PIECE + 17,
  3 * 1024 * 1024 + 5,
];
// Above the 8 MiB scratch buffer a v1 message is verified in its destination, then decrypted.
const OVER_SCRATCH = 9 * 1024 * 1024 + 17;
const IDS = { aes128gcm: 0, aes256gcm: 1, chacha20poly1305: 2 } as const;
const NODE_NAMES = {
  aes128gcm: "aes-128-gcm",
  aes256gcm: "aes-256-gcm",
  chacha20poly1305: "chacha20-poly1305",
} as const;

let counter = 0;
// An arena destination is written by the addon's threads directly (verify, then decrypt with the
// split primitives); any other goes through addon staging (private: fused AEAD in place).
async function decryptAt(
  f: Fixture,
  algorithm: AeadAlgorithm,
  chunkSize: number,
  offset: number,
  arena = false,
): Promise<Buffer> {
  const file = await getBackend("native").open(f.path);
  try {
    const size = f.plain.length + offset + 64;
    const backing = (arena ? new Uint8Array(allocateArena(size)) : new Uint8Array(size)).fill(0xa5);
    await file.decryptInto(
      requestFor(f, algorithm, chunkSize),
      backing.subarray(offset, offset + f.plain.length),
    );
    // Bytes around the destination are untouched.
    expect(backing.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
    expect(backing.subarray(offset + f.plain.length).every((b) => b === 0xa5)).toBe(true);
    return Buffer.from(backing.subarray(offset, offset + f.plain.length));
  } finally {
    await file.close();
  }
}

describe.each(ENGINES)("AES-GCM engine %s", (engine) => {
  it("is reported by nativeInfo once selected", () => {
    setAesEngine(engine);
    expect(nativeInfo().aesGcmEngine).toBe(engine);
  });

  describe.each(ALGORITHMS)("%s", (algorithm) => {
    it.each(LENGTHS)(
      "decrypts length %i (v2 chunks of 64 KiB and v1) to node:crypto's plaintext",
      async (length) => {
        setAesEngine(engine);
        for (const chunkSize of [CHUNK, 0]) {
          const f = writeEncrypted(dir, `e${counter++}`, algorithm, length, chunkSize);
          for (const offset of [0, 1, 13, 63]) {
            for (const arena of [false, true]) {
              const got = await decryptAt(f, algorithm, chunkSize, offset, arena);
              expect(got.equals(f.plain)).toBe(true);
            }
          }
        }
      },
    );

    it("decrypts a v1 tensor above the scratch size, and refuses it with one byte flipped", async () => {
      setAesEngine(engine);
      const f = writeEncrypted(dir, `big${counter++}`, algorithm, OVER_SCRATCH, 0);
      for (const offset of [0, 13]) {
        for (const arena of [false, true])
          expect((await decryptAt(f, algorithm, 0, offset, arena)).equals(f.plain)).toBe(true);
      }
      const bytes = readFileSync(f.path);
      bytes[f.dataStart + OVER_SCRATCH - 3]! ^= 0x40;
      writeFileSync(f.path, bytes);
      const file = await getBackend("native").open(f.path);
      try {
        for (const arena of [false, true]) {
          const dest = (
            arena ? new Uint8Array(allocateArena(OVER_SCRATCH)) : new Uint8Array(OVER_SCRATCH)
          ).fill(7);
          await expect(file.decryptInto(requestFor(f, algorithm, 0), dest)).rejects.toSatisfy(
            (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_DECRYPTION_FAILED",
          );
          expect(dest.every((b) => b === 0)).toBe(true);
        }
      } finally {
        await file.close();
      }
    });

    it("decrypts into every destination alignment 0..63", async () => {
      setAesEngine(engine);
      const f = writeEncrypted(dir, `a${counter++}`, algorithm, 3 * 4096 + 7, 4096);
      for (let offset = 0; offset < 64; offset++) {
        for (const arena of [false, true])
          expect((await decryptAt(f, algorithm, 4096, offset, arena)).equals(f.plain)).toBe(true);
      }
    });

    it("refuses a flipped ciphertext bit or tag bit, and wipes the destination", async () => {
      setAesEngine(engine);
      const f = writeEncrypted(dir, `t${counter++}`, algorithm, 2 * CHUNK + 5, CHUNK);
      const file = await getBackend("native").open(f.path);
      try {
        const tags = Buffer.from(f.sealed.tags);
        tags[16 + 3]! ^= 0x10;
        const arenaDest = new Uint8Array(allocateArena(f.plain.length)).fill(7);
        await expect(
          file.decryptInto({ ...requestFor(f, algorithm, CHUNK), tags }, arenaDest),
        ).rejects.toSatisfy(
          (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_DECRYPTION_FAILED",
        );
        expect(arenaDest.every((b) => b === 0)).toBe(true);
        const dest = new Uint8Array(f.plain.length).fill(7);
        await expect(
          file.decryptInto({ ...requestFor(f, algorithm, CHUNK), tags }, dest),
        ).rejects.toSatisfy(
          (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_DECRYPTION_FAILED",
        );
        expect(dest.every((b) => b === 0)).toBe(true);
        const wrongKey = Buffer.from(f.key);
        wrongKey[0]! ^= 1;
        await expect(
          file.decryptInto({ ...requestFor(f, algorithm, CHUNK), key: wrongKey }, dest),
        ).rejects.toSatisfy(
          (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_DECRYPTION_FAILED",
        );
      } finally {
        await file.close();
      }
    });

    it.each([1, CHUNK - 1, CHUNK, 5 * CHUNK + 3])(
      "seals %i bytes exactly as node:crypto does, at any alignment",
      async (length) => {
        setAesEngine(engine);
        const native = loadNativeBinding();
        const key = randomBytes(algorithm === "aes128gcm" ? 16 : 32);
        const baseIv = randomBytes(12);
        baseIv.writeUInt32BE(0xfffffff0 - 8, 8); // the counter may approach, not pass, 2^32 - 1
        const plain = randomBytes(length);
        const chunks = Math.ceil(length / CHUNK);
        for (const offset of [0, 1, 63]) {
          const src = new Uint8Array(length + offset);
          src.set(plain, offset);
          const dst = new Uint8Array(length + offset);
          const tags = new Uint8Array(chunks * 16);
          expect(
            await native.seal(
              IDS[algorithm],
              key,
              baseIv,
              2,
              CHUNK,
              src.subarray(offset),
              dst.subarray(offset),
              tags,
            ),
          ).toBe(0);
          for (let i = 0; i < chunks; i++) {
            const cipher = createCipheriv(
              NODE_NAMES[algorithm] as CipherGCMTypes,
              key,
              chunkIvOf(baseIv, 2 + i),
              { authTagLength: 16 },
            );
            const expected = Buffer.concat([
              cipher.update(plain.subarray(i * CHUNK, (i + 1) * CHUNK)),
              cipher.final(),
            ]);
            expect(
              Buffer.from(
                dst.subarray(offset + i * CHUNK, offset + i * CHUNK + expected.length),
              ).equals(expected),
            ).toBe(true);
            expect(
              Buffer.from(tags.subarray(i * 16, i * 16 + 16)).equals(cipher.getAuthTag()),
            ).toBe(true);
          }
        }
      },
    );
  });

  it("seal refuses a counter that would pass 2^32 - 1 (status 2)", async () => {
    setAesEngine(engine);
    const baseIv = Buffer.alloc(12);
    baseIv.writeUInt32BE(0xffffffff, 8);
    const status = await loadNativeBinding().seal(
      1,
      randomBytes(32),
      baseIv,
      0,
      16,
      new Uint8Array(17),
      new Uint8Array(17),
      new Uint8Array(32),
    );
    expect(status).toBe(2);
  });
});

describe("engine selection", () => {
  it("accepts only the three engine names", () => {
    expect(() => setAesEngine("aesni" as never)).toThrow(TypeError);
  });

  it.runIf(!nativeInfo().ipsecMbUsable)("refuses ipsec-mb where it cannot run", () => {
    expect(() => setAesEngine("ipsec-mb")).toThrow(CryptoTensorsError);
  });

  it.runIf(!nativeInfo().vaesAvx2Usable)("refuses vaes-avx2 where it cannot run", () => {
    expect(() => setAesEngine("vaes-avx2")).toThrow(/AVX2 \+ VAES \+ VPCLMULQDQ/);
  });

  it("CRYPTOTENSORS_AES_ENGINE=openssl selects OpenSSL in a fresh process", async () => {
    const { execFileSync } = await import("node:child_process");
    const { PACKAGE_ROOT } = await import("../../src/native/addon.js");
    const script = `const b = require("node-gyp-build")(${JSON.stringify(PACKAGE_ROOT)}); console.log(b.nativeInfo().aesGcmEngine);`;
    const out = execFileSync(process.execPath, ["-e", script], {
      env: { ...process.env, CRYPTOTENSORS_AES_ENGINE: "openssl" },
      encoding: "utf8",
    });
    expect(out.trim()).toBe("openssl");
    const auto = execFileSync(process.execPath, ["-e", script], {
      env: { ...process.env, CRYPTOTENSORS_AES_ENGINE: "" },
      encoding: "utf8",
    });
    expect(auto.trim()).toBe(DEFAULT_ENGINE);
    if (nativeInfo().vaesAvx2Usable) {
      const forced = execFileSync(process.execPath, ["-e", script], {
        env: { ...process.env, CRYPTOTENSORS_AES_ENGINE: "vaes-avx2" },
        encoding: "utf8",
      });
      expect(forced.trim()).toBe("vaes-avx2");
    }
  });
});

// Both engines produce the same plaintext for the same file through one multi-entry plan.
describe("runPlan", () => {
  it("mixes plain reads, v1 and v2 decryptions, names the failing item, and wipes every decrypt destination", async () => {
    const v2 = writeEncrypted(dir, `p${counter++}`, "aes256gcm", 3 * CHUNK + 9, CHUNK);
    const file = await getBackend("native").open(v2.path);
    try {
      for (const engine of ENGINES) {
        setAesEngine(engine);
        const whole = new Uint8Array(v2.plain.length);
        const head = new Uint8Array(5);
        const request = requestFor(v2, "aes256gcm", CHUNK);
        await file.runPlan([
          { kind: "read", offset: 0, length: 5, dest: head },
          { kind: "decrypt", request, dest: whole, label: "w" },
        ]);
        expect(Buffer.from(whole).equals(v2.plain)).toBe(true);
        const bad = Buffer.from(request.tags);
        bad[0]! ^= 1;
        const other = new Uint8Array(v2.plain.length);
        await expect(
          file.runPlan([
            { kind: "decrypt", request, dest: whole, label: "good" },
            {
              kind: "decrypt",
              request: { ...request, tags: bad },
              dest: other,
              label: "bad tensor",
            },
          ]),
        ).rejects.toSatisfy(
          (e: unknown) =>
            e instanceof CryptoTensorsError &&
            e.code === "ERR_DECRYPTION_FAILED" &&
            e.message.includes('"bad tensor"'),
        );
        expect(whole.every((b) => b === 0) && other.every((b) => b === 0)).toBe(true);
      }
    } finally {
      await file.close();
    }
  });
});
