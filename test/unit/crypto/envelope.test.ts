import { describe, expect, it } from "vitest";
import { seal } from "../../../src/crypto/aead.js";
import {
  generateDataKey,
  generateDataKeys,
  unwrapDataKey,
  wrapDataKey,
  wrapDataKeys,
  wrapDataKeyWithIv,
} from "../../../src/crypto/envelope.js";
import { byteRange } from "../../fixtures/worked-example.js";
import { expectCode } from "../../support/expect-code.js";

const master = byteRange(0x00, 32);

describe("data key envelope", () => {
  it("reproduces the wrapped keys of the §4.5 worked example", () => {
    const bias = wrapDataKeyWithIv("aes256gcm", master, byteRange(0x60, 32), byteRange(0xa0, 12));
    expect(bias.wrappedKey.toString("base64")).toBe("hnkeTiGuZNgKDO24axeusQDdK2PmwjQb5Hdc/QPWC34=");
    expect(bias.keyIv.toString("base64")).toBe("oKGio6Slpqeoqaqr");
    expect(bias.keyTag.toString("base64")).toBe("GYhezqnrqnFa1bxCFQSlJg==");
    const weight = wrapDataKeyWithIv("aes256gcm", master, byteRange(0x80, 32), byteRange(0xb0, 12));
    expect(weight.wrappedKey.toString("base64")).toBe(
      "GdTYKGhIPdjPcR0pQdAGTRSt20GBuxmixlcYasAfbIk=",
    );
    expect(weight.keyTag.toString("base64")).toBe("6y+Qs6SYnXXCfKd7nM0oFQ==");
    expect(unwrapDataKey("aes256gcm", master, weight).equals(byteRange(0x80, 32))).toBe(true);
  });

  it.each(["aes128gcm", "aes256gcm", "chacha20poly1305"] as const)(
    "round-trips random keys with %s",
    (alg) => {
      const masterKey = generateDataKey(alg);
      const dek = generateDataKey(alg);
      const entry = wrapDataKey(alg, masterKey, dek);
      expect(entry.wrappedKey).toHaveLength(dek.length);
      expect(entry.keyIv).toHaveLength(12);
      expect(entry.keyTag).toHaveLength(16);
      expect(unwrapDataKey(alg, masterKey, entry).equals(dek)).toBe(true);
      expect(wrapDataKey(alg, masterKey, dek).keyIv.equals(entry.keyIv)).toBe(false);
    },
  );

  it("generateDataKeys draws independent keys of the algorithm's length, each its own memory", () => {
    const keys = generateDataKeys("aes128gcm", 64);
    expect(keys).toHaveLength(64);
    expect(new Set(keys.map((k) => k.toString("hex"))).size).toBe(64);
    for (const key of keys) {
      expect(key).toHaveLength(16);
      expect(key.byteOffset).toBe(0);
      expect(key.buffer.byteLength).toBe(16);
    }
    keys[0]?.fill(0);
    expect(keys[1]?.equals(Buffer.alloc(16))).toBe(false);
    expect(generateDataKeys("aes256gcm", 0)).toEqual([]);
  });

  it("wrapDataKeys wraps each key with its own fresh key_iv", () => {
    const deks = generateDataKeys("aes256gcm", 50);
    const entries = wrapDataKeys("aes256gcm", master, deks);
    expect(entries).toHaveLength(50);
    expect(new Set(entries.map((e) => e.keyIv.toString("hex"))).size).toBe(50);
    for (const [i, entry] of entries.entries()) {
      expect(entry.keyIv).toHaveLength(12);
      expect(unwrapDataKey("aes256gcm", master, entry).equals(deks[i] as Buffer)).toBe(true);
    }
    expect(wrapDataKeys("aes256gcm", master, [])).toEqual([]);
  });

  it("a wrong master key fails with ERR_DECRYPTION_FAILED", () => {
    const entry = wrapDataKey("aes256gcm", master, generateDataKey("aes256gcm"));
    expectCode(
      () => unwrapDataKey("aes256gcm", byteRange(0x01, 32), entry),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("a master key of the wrong size fails with ERR_INVALID_KEY_LENGTH", () => {
    const entry = wrapDataKey("aes256gcm", master, generateDataKey("aes256gcm"));
    expectCode(() => unwrapDataKey("aes128gcm", master, entry), "ERR_INVALID_KEY_LENGTH");
  });

  it("an unwrapped key of the wrong size fails with ERR_INVALID_KEY_LENGTH", () => {
    // A (foreign) writer that wrapped a 16-byte key under an AES-256 master key.
    const keyIv = byteRange(0x10, 12);
    const { ciphertext, tag } = seal("aes256gcm", master, keyIv, byteRange(0x40, 16));
    expectCode(
      () => unwrapDataKey("aes256gcm", master, { wrappedKey: ciphertext, keyIv, keyTag: tag }),
      "ERR_INVALID_KEY_LENGTH",
    );
  });

  it("a key_iv that is not 12 bytes fails with ERR_INVALID_IV_LENGTH", () => {
    const entry = wrapDataKey("aes256gcm", master, generateDataKey("aes256gcm"));
    expectCode(
      () => unwrapDataKey("aes256gcm", master, { ...entry, keyIv: Buffer.alloc(0) }),
      "ERR_INVALID_IV_LENGTH",
    );
  });

  it("refuses to wrap a data key of the wrong length", () => {
    expect(() => wrapDataKey("aes256gcm", master, Buffer.alloc(16))).toThrow(RangeError);
  });

  it("generates keys of the algorithm's length, different each time", () => {
    expect(generateDataKey("aes128gcm")).toHaveLength(16);
    expect(generateDataKey("chacha20poly1305")).toHaveLength(32);
    expect(generateDataKey("aes256gcm").equals(generateDataKey("aes256gcm"))).toBe(false);
  });
});
