// The batch wrap of a save (native/data-keys.h, src/keys/wrap-batch.ts): the same bytes as
// wrapping key by key with node:crypto for the same IVs, keys that unwrap again, and the
// per-entry errors for keys that are not data keys.
import { afterEach, describe, expect, it, vi } from "vitest";
import { IV_LENGTH, keyLength } from "../../src/crypto/algorithms.js";
import { generateDataKeys, unwrapDataKey, wrapDataKeyWithIv } from "../../src/crypto/envelope.js";
import { nativeKeyBinding } from "../../src/keys/native-keys.js";
import { unwrapDataKeys } from "../../src/keys/unwrap-batch.js";
import { wrapDataKeysBatch, wrapDataKeysWithIvs } from "../../src/keys/wrap-batch.js";
import { ALGORITHM_IDS } from "../../src/native/plan-table.js";

const ALGORITHMS = ["aes128gcm", "aes256gcm", "chacha20poly1305"] as const;

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("wrapDataKeysBatch (one native call per save)", () => {
  it.each(ALGORITHMS)(
    "%s: byte-identical to node:crypto key by key, with and without the addon",
    (alg) => {
      const master = Buffer.alloc(keyLength(alg), 0x3c);
      const dataKeys = generateDataKeys(alg, 310);
      const ivs = Buffer.alloc(310 * IV_LENGTH);
      for (let i = 0; i < ivs.length; i++) ivs[i] = (i * 7 + 3) & 0xff;
      const batch = wrapDataKeysWithIvs(alg, master, dataKeys, ivs);
      vi.stubEnv("CRYPTOTENSORS_BACKEND", "fallback");
      const fallback = wrapDataKeysWithIvs(alg, master, dataKeys, ivs);
      vi.unstubAllEnvs();
      batch.forEach((wrapped, i) => {
        const iv = ivs.subarray(i * IV_LENGTH, (i + 1) * IV_LENGTH);
        const one = wrapDataKeyWithIv(alg, master, dataKeys[i] as Buffer, iv);
        for (const field of ["wrappedKey", "keyIv", "keyTag"] as const) {
          expect(Buffer.from(wrapped[field]).equals(one[field])).toBe(true);
          expect(Buffer.from(fallback[i]?.[field] as Buffer).equals(one[field])).toBe(true);
        }
        expect(unwrapDataKey(alg, master, wrapped).equals(dataKeys[i] as Buffer)).toBe(true);
      });
    },
  );

  it("draws a fresh IV per key, and what it wraps unwraps to the same keys", () => {
    const master = Buffer.alloc(32, 9);
    const dataKeys = generateDataKeys("aes256gcm", 64);
    const wrapped = wrapDataKeysBatch("aes256gcm", master, dataKeys);
    expect(new Set(wrapped.map((w) => Buffer.from(w.keyIv).toString("hex"))).size).toBe(64);
    const keys = unwrapDataKeys("aes256gcm", master, wrapped);
    keys.forEach((key, i) => expect(key.equals(dataKeys[i] as Buffer)).toBe(true));
    // The input keys are left as they were (the batch wipes only its own copy).
    expect(dataKeys.every((key) => !key.equals(Buffer.alloc(32)))).toBe(true);
  });

  it("a key that is not a data key of the algorithm gets the per-entry RangeError", () => {
    const master = Buffer.alloc(32, 1);
    const keys = [...generateDataKeys("aes256gcm", 3), Buffer.alloc(16)];
    expect(() => wrapDataKeysBatch("aes256gcm", master, keys)).toThrow(RangeError);
    const text = ["k".repeat(32), "k".repeat(32)] as unknown as Uint8Array[];
    expect(() => wrapDataKeysBatch("aes256gcm", master, text)).toThrow(RangeError);
  });

  it("the addon refuses inconsistent lengths", () => {
    const binding = nativeKeyBinding();
    if (binding?.wrapKeys === undefined) throw new Error("the addon has no wrapKeys: rebuild it");
    const id = ALGORITHM_IDS.aes256gcm;
    const [master, keys, ivs] = [Buffer.alloc(32), Buffer.alloc(64), Buffer.alloc(24)];
    const [wrapped, tags] = [Buffer.alloc(64), Buffer.alloc(32)];
    expect(() => binding.wrapKeys?.(id, master.subarray(1), keys, ivs, wrapped, tags)).toThrow(
      RangeError,
    );
    expect(() => binding.wrapKeys?.(id, master, keys, ivs, wrapped, tags.subarray(1))).toThrow(
      RangeError,
    );
    expect(() => binding.wrapKeys?.(id, master, keys, ivs.subarray(12), wrapped, tags)).toThrow(
      RangeError,
    );
    expect(() => binding.wrapKeys?.(id, master, keys, ivs, "out" as never, tags)).toThrow(
      TypeError,
    );
    binding.wrapKeys(id, master, keys, ivs, wrapped, tags);
    expect(tags.equals(Buffer.alloc(32))).toBe(false);
  });
});
