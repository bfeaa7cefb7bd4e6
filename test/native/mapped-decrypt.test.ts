// Issue 13: where the AES-GCM engine reads each ciphertext byte once (vaes-avx2), units are
// decrypted straight out of a mapping of the file, with no landing copy (native/plan.cc
// DecryptUnitInto). These tests check that the path really runs (stats().mappedDecryptUnits) into
// private destinations and through the scratch buffer, that it gives the plaintext the landing path
// gives, that setMappedDecrypt(false) and the engines that may read twice land first, and that a
// flipped bit fails and leaves no plaintext behind. Truncation during it: truncation.test.ts.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadNativeBinding } from "../../src/native/addon.js";
import { allocateArena, nativeInfo, setAesEngine } from "../../src/native/index.js";
import { type Fixture, tempDir, writeEncrypted } from "./helpers.js";

const { dir, cleanup } = tempDir();
const binding = loadNativeBinding();
const initial = nativeInfo().aesGcmEngine;
afterEach(() => {
  setAesEngine(initial);
  binding.setMappedDecrypt(true);
});
afterAll(cleanup);

const units = () => binding.stats().mappedDecryptUnits;
const CHUNK = 1 << 20;
const LENGTH = 9 * CHUNK + 777; // a short last chunk
const CHUNKS = Math.ceil(LENGTH / CHUNK);
const AES256 = 1; // native/aead.h
const vaes = nativeInfo().vaesAvx2Usable;
let counter = 0;

/** Decrypts the whole fixture by one plan entry into fresh (private) or warm arena memory. */
async function decrypt(
  f: Fixture,
  destPrivate: boolean,
): Promise<{ status: number; dest: Uint8Array }> {
  const handle = await binding.openFile(f.path);
  if (typeof handle === "number") throw new Error(`open failed with status ${handle}`);
  try {
    // A caller's destination is warm memory (a fresh arena's last MiBs take the scratchless tail).
    const dest = new Uint8Array(allocateArena(LENGTH));
    if (!destPrivate) dest.fill(1);
    const table = new Float64Array([1, AES256, f.dataStart, LENGTH, CHUNK, 0, 0, 0, 0]);
    const status = await handle.plan(
      table,
      f.key,
      f.baseIv,
      f.sealed.tags,
      [dest],
      new Float64Array(1),
      destPrivate,
    );
    return { status, dest };
  } finally {
    await handle.close();
  }
}

describe("decryption straight out of the file's mapping (issue 13)", () => {
  it("nativeInfo().mappedDecrypt follows the engine and setMappedDecrypt", () => {
    setAesEngine("openssl");
    expect(nativeInfo().mappedDecrypt).toBe(false);
    if (!vaes) return;
    setAesEngine("vaes-avx2");
    expect(nativeInfo().mappedDecrypt).toBe(true);
    expect(binding.setMappedDecrypt(false)).toBe(true);
    expect(nativeInfo().mappedDecrypt).toBe(false);
    expect(binding.setMappedDecrypt(true)).toBe(false);
  });

  for (const destPrivate of [true, false]) {
    const where = destPrivate ? "a private destination" : "a caller-visible one (scratch)";
    it.skipIf(!vaes)(
      `vaes-avx2 into ${where}: every chunk out of the mapping, same plaintext as landing first`,
      async () => {
        setAesEngine("vaes-avx2");
        const f = writeEncrypted(dir, `mapped${counter++}`, "aes256gcm", LENGTH, CHUNK);
        const before = units();
        const mapped = await decrypt(f, destPrivate);
        expect(mapped.status).toBe(0);
        expect(units() - before).toBe(CHUNKS);
        expect(Buffer.from(mapped.dest).equals(f.plain)).toBe(true);

        binding.setMappedDecrypt(false);
        const landing = units();
        const landed = await decrypt(f, destPrivate);
        expect(landed.status).toBe(0);
        expect(units()).toBe(landing);
        expect(Buffer.from(landed.dest).equals(f.plain)).toBe(true);
      },
    );

    it.skipIf(!vaes)(
      `vaes-avx2 into ${where}: a flipped ciphertext bit fails and leaves zeros`,
      async () => {
        setAesEngine("vaes-avx2");
        const f = writeEncrypted(dir, `mappedbad${counter++}`, "aes256gcm", LENGTH, CHUNK);
        const bytes = readFileSync(f.path);
        bytes[f.dataStart + 4 * CHUNK + 12345]! ^= 0x04;
        writeFileSync(f.path, bytes);
        const before = units();
        const { status, dest } = await decrypt(f, destPrivate);
        expect(status).toBe(1); // kDecryptFailed (native/status.h)
        expect(units()).toBeGreaterThan(before);
        expect(dest.every((b) => b === 0)).toBe(true);
      },
    );
  }

  it("the OpenSSL engine, which may read a byte twice, lands the ciphertext first", async () => {
    setAesEngine("openssl");
    const f = writeEncrypted(dir, `landed${counter++}`, "aes256gcm", LENGTH, CHUNK);
    const before = units();
    for (const destPrivate of [true, false]) {
      const { status, dest } = await decrypt(f, destPrivate);
      expect(status).toBe(0);
      expect(Buffer.from(dest).equals(f.plain)).toBe(true);
    }
    expect(units()).toBe(before);
  });
});
