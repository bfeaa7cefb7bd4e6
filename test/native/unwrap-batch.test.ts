// The batch unwrap of an open (native/data-keys.h, src/keys/unwrap-batch.ts): the same keys and the
// same errors as unwrapping entry by entry with node:crypto, and no key left behind on failure.
import { afterEach, describe, expect, it, vi } from "vitest";
import { seal } from "../../src/crypto/aead.js";
import { keyLength, type AeadAlgorithm } from "../../src/crypto/algorithms.js";
import { generateDataKeys, unwrapDataKey, wrapDataKeys } from "../../src/crypto/envelope.js";
import { nativeKeyBinding } from "../../src/keys/native-keys.js";
import { unwrapDataKeys } from "../../src/keys/unwrap-batch.js";
import { ALGORITHM_IDS } from "../../src/native/plan-table.js";
import { expectCode } from "../support/expect-code.js";

const ALGORITHMS = ["aes128gcm", "aes256gcm", "chacha20poly1305"] as const;

function batch(algorithm: AeadAlgorithm, count: number) {
  const master = Buffer.alloc(keyLength(algorithm), 0x5a);
  const dataKeys = generateDataKeys(algorithm, count);
  return { master, dataKeys, wrapped: wrapDataKeys(algorithm, master, dataKeys) };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("unwrapDataKeys (one native batch per open)", () => {
  it.each(ALGORITHMS)(
    "%s: the keys node:crypto unwraps one by one, as views of one buffer",
    (alg) => {
      const { master, dataKeys, wrapped } = batch(alg, 310);
      const keys = unwrapDataKeys(alg, master, wrapped);
      expect(keys).toHaveLength(310);
      keys.forEach((key, i) => {
        expect(key.equals(dataKeys[i] as Buffer)).toBe(true);
        expect(key.equals(unwrapDataKey(alg, master, wrapped[i]!))).toBe(true);
      });
      expect(keys[0]?.buffer).toBe(keys[309]?.buffer);
      expect(keys[0]?.buffer.byteLength).toBe(310 * keyLength(alg)); // unpooled: wiping touches no one else
    },
  );

  it.each(ALGORITHMS)(
    "%s: a wrong master key or any tampered entry fails like the per-entry path",
    (alg) => {
      const { master, wrapped } = batch(alg, 20);
      const wrong = Buffer.from(master);
      wrong.writeUInt8(wrong.readUInt8(0) ^ 1, 0);
      expectCode(() => unwrapDataKeys(alg, wrong, wrapped), "ERR_DECRYPTION_FAILED");
      for (const field of ["wrappedKey", "keyIv", "keyTag"] as const) {
        const tampered = wrapped.map((w) => ({ ...w, [field]: Buffer.from(w[field]) }));
        (tampered[13]![field] as Buffer)[3]! ^= 0x80;
        expectCode(() => unwrapDataKeys(alg, master, tampered), "ERR_DECRYPTION_FAILED");
      }
    },
  );

  it("entries of irregular lengths get the per-entry checks, in entry order", () => {
    const { master, wrapped } = batch("aes256gcm", 5);
    const shortIv = wrapped.map((w, i) => (i === 2 ? { ...w, keyIv: w.keyIv.subarray(0, 8) } : w));
    expectCode(() => unwrapDataKeys("aes256gcm", master, shortIv), "ERR_INVALID_IV_LENGTH");
    const shortTag = wrapped.map((w, i) =>
      i === 4 ? { ...w, keyTag: w.keyTag.subarray(0, 12) } : w,
    );
    expectCode(() => unwrapDataKeys("aes256gcm", master, shortTag), "ERR_DECRYPTION_FAILED");
    // A 16-byte key wrapped under an AES-256 master key: authentic, but not a data key.
    const iv = Buffer.alloc(12, 7);
    const sealed = seal("aes256gcm", master, iv, Buffer.alloc(16, 1));
    const mixed = [...wrapped, { wrappedKey: sealed.ciphertext, keyIv: iv, keyTag: sealed.tag }];
    expectCode(() => unwrapDataKeys("aes256gcm", master, mixed), "ERR_INVALID_KEY_LENGTH");
  });

  it("CRYPTOTENSORS_BACKEND=fallback unwraps with node:crypto, to the same keys", () => {
    const { master, dataKeys, wrapped } = batch("chacha20poly1305", 4);
    vi.stubEnv("CRYPTOTENSORS_BACKEND", "fallback");
    const keys = unwrapDataKeys("chacha20poly1305", master, wrapped);
    expect(keys[0]?.buffer).not.toBe(keys[1]?.buffer);
    keys.forEach((key, i) => expect(key.equals(dataKeys[i] as Buffer)).toBe(true));
  });

  it("the addon reports the first failing entry and wipes every key it had unwrapped", () => {
    const binding = nativeKeyBinding();
    if (binding === null) throw new Error("the addon has no key helpers: rebuild it");
    const { master, wrapped } = batch("aes256gcm", 6);
    const pack = (field: "wrappedKey" | "keyIv" | "keyTag") =>
      Buffer.concat(wrapped.map((w) => w[field]));
    const [keys, ivs, tags] = [pack("wrappedKey"), pack("keyIv"), pack("keyTag")];
    const out = Buffer.alloc(6 * 32);
    expect(binding.unwrapKeys(ALGORITHM_IDS.aes256gcm, master, keys, ivs, tags, out)).toBe(-1);
    expect(out.equals(Buffer.alloc(6 * 32))).toBe(false);
    tags.writeUInt8(tags.readUInt8(64) ^ 1, 64);
    out.fill(0xee);
    expect(binding.unwrapKeys(ALGORITHM_IDS.aes256gcm, master, keys, ivs, tags, out)).toBe(4);
    expect(out.equals(Buffer.alloc(6 * 32))).toBe(true);
    expect(() =>
      binding.unwrapKeys(ALGORITHM_IDS.aes256gcm, master, keys, ivs, tags.subarray(16), out),
    ).toThrow(RangeError);
    expect(() =>
      binding.unwrapKeys(ALGORITHM_IDS.aes256gcm, master.subarray(1), keys, ivs, tags, out),
    ).toThrow(RangeError);
    expect(
      binding.unwrapKeys(
        ALGORITHM_IDS.aes256gcm,
        master,
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
        Buffer.alloc(0),
      ),
    ).toBe(-1);
  });
});
