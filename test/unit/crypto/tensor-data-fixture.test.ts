import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { seal } from "../../../src/crypto/aead.js";
import { chunkIv } from "../../../src/crypto/chunks.js";
import { unwrapDataKey } from "../../../src/crypto/envelope.js";
import {
  decryptTensor,
  encryptTensor,
  openChunked,
  openWhole,
  sealChunked,
  sealWhole,
} from "../../fixtures/tensor-data.js";
import { byteRange } from "../../fixtures/worked-example.js";
import { expectCode } from "../../support/expect-code.js";

const hex = (s: string): Buffer => Buffer.from(s, "hex");
const ALGS = ["aes128gcm", "aes256gcm", "chacha20poly1305"] as const;

describe("v2 chunked sealing", () => {
  it("reproduces the §4.5 ciphertexts and tags", () => {
    const bias = sealChunked(
      "aes256gcm",
      byteRange(0x60, 32),
      byteRange(0xc0, 12),
      hex("0000803f000000c0"),
      4,
    );
    expect(bias.ciphertext.toString("hex")).toBe("e12010e884ef8711");
    expect(bias.tags.toString("base64")).toBe("MLMYOQpv07H6GnWTsl5T2wee6Fi13WojOuhAw77lw/o=");
    const weight = sealChunked(
      "aes256gcm",
      byteRange(0x80, 32),
      hex("c0c1c2c3c4c5c6c7fffffffe"),
      hex("003c004000420044"),
      4,
    );
    expect(weight.ciphertext.toString("hex")).toBe("03f4a63662f5b47f");
    expect(weight.tags.toString("base64")).toBe("dzS/C/uIT29jw9RcbMgCNLxSodVYJVkX3GYvyctW1LE=");
  });

  it("seals each chunk on its own with its derived IV", () => {
    const key = byteRange(1, 32);
    const base = byteRange(0x50, 12);
    const data = byteRange(0, 10);
    const { ciphertext, tags } = sealChunked("aes256gcm", key, base, data, 4);
    expect(tags).toHaveLength(48);
    const last = seal("aes256gcm", key, chunkIv(base, 2), data.subarray(8));
    expect(ciphertext.subarray(8).equals(last.ciphertext)).toBe(true);
    expect(tags.subarray(32).equals(last.tag)).toBe(true);
  });

  it("base_iv ending fffffffe: 2 chunks seal and open, 3 chunks overflow on both sides", () => {
    const key = byteRange(1, 32);
    const base = hex("c0c1c2c3c4c5c6c7fffffffe");
    const two = sealChunked("aes256gcm", key, base, byteRange(0, 8), 4);
    expect(
      openChunked("aes256gcm", key, two.ciphertext, base, two.tags, 4).equals(byteRange(0, 8)),
    ).toBe(true);
    expectCode(
      () => sealChunked("aes256gcm", key, base, byteRange(0, 9), 4),
      "ERR_COUNTER_OVERFLOW",
    );
    expectCode(
      () => openChunked("aes256gcm", key, Buffer.alloc(9), base, Buffer.alloc(48), 4),
      "ERR_COUNTER_OVERFLOW",
    );
  });

  it("an empty tensor is one seal of nothing with IV = base_iv", () => {
    const key = byteRange(1, 32);
    const base = byteRange(0x50, 12);
    const { ciphertext, tags } = sealChunked("aes256gcm", key, base, Buffer.alloc(0), 4);
    expect(ciphertext).toHaveLength(0);
    expect(tags.equals(seal("aes256gcm", key, base, Buffer.alloc(0)).tag)).toBe(true);
    expect(openChunked("aes256gcm", key, ciphertext, base, tags, 4)).toHaveLength(0);
    expectCode(
      () => openChunked("aes256gcm", key, ciphertext, base, Buffer.alloc(16), 4),
      "ERR_DECRYPTION_FAILED",
    );
    expectCode(
      () => openChunked("aes256gcm", key, ciphertext, Buffer.concat([base, base]), tags, 4),
      "ERR_INVALID_IV_LENGTH",
    );
  });

  it("refuses missing, short, surplus or swapped tags and flipped bits", () => {
    const key = byteRange(1, 32);
    const base = byteRange(0x50, 12);
    const { ciphertext, tags } = sealChunked("aes256gcm", key, base, byteRange(0, 10), 4);
    const swapped = Buffer.concat([tags.subarray(16, 32), tags.subarray(0, 16), tags.subarray(32)]);
    const flipped = Buffer.from(ciphertext);
    flipped[9] = (flipped[9] as number) ^ 0x80;
    for (const bad of [
      tags.subarray(0, 32),
      Buffer.concat([tags, Buffer.alloc(16)]),
      swapped,
      Buffer.alloc(0),
    ]) {
      expectCode(
        () => openChunked("aes256gcm", key, ciphertext, base, bad, 4),
        "ERR_DECRYPTION_FAILED",
      );
    }
    expectCode(
      () => openChunked("aes256gcm", key, flipped, base, tags, 4),
      "ERR_DECRYPTION_FAILED",
    );
    expectCode(
      () => openChunked("aes256gcm", key, ciphertext, base, tags, 5),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("round-trips any data, chunk size and algorithm", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALGS),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        (alg, data, chunkSize) => {
          const key = byteRange(3, alg === "aes128gcm" ? 16 : 32);
          const base = byteRange(0x70, 12);
          const { ciphertext, tags } = sealChunked(alg, key, base, data, chunkSize);
          expect(ciphertext).toHaveLength(data.length);
          expect(tags).toHaveLength(16 * Math.max(1, Math.ceil(data.length / chunkSize)));
          expect(
            openChunked(alg, key, ciphertext, base, tags, chunkSize).equals(Buffer.from(data)),
          ).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("v1 whole-tensor sealing", () => {
  const key = byteRange(1, 32);
  const iv = byteRange(0x90, 12);

  it("seals once and round-trips", () => {
    const data = byteRange(0, 100);
    const sealed = sealWhole("chacha20poly1305", key, iv, data);
    expect(sealed.iv.equals(iv)).toBe(true);
    expect(sealed.tag.equals(seal("chacha20poly1305", key, iv, data).tag)).toBe(true);
    expect(
      openWhole("chacha20poly1305", key, sealed.ciphertext, sealed.iv, sealed.tag).equals(data),
    ).toBe(true);
  });

  it("empty tensors: no AEAD, empty iv and tag; empty data with a real tag is checked (§3.5)", () => {
    const sealed = sealWhole("aes256gcm", key, iv, Buffer.alloc(0));
    expect(sealed.iv).toHaveLength(0);
    expect(sealed.tag).toHaveLength(0);
    expect(
      openWhole("aes256gcm", key, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)),
    ).toHaveLength(0);
    const realTag = seal("aes256gcm", key, iv, Buffer.alloc(0)).tag;
    expect(openWhole("aes256gcm", key, Buffer.alloc(0), iv, realTag)).toHaveLength(0);
    expectCode(
      () => openWhole("aes256gcm", key, Buffer.alloc(0), iv, Buffer.alloc(16)),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("data with an empty iv is ERR_INVALID_IV_LENGTH", () => {
    expectCode(
      () => openWhole("aes256gcm", key, Buffer.alloc(4), Buffer.alloc(0), Buffer.alloc(16)),
      "ERR_INVALID_IV_LENGTH",
    );
  });
});

describe("encryptTensor / decryptTensor", () => {
  it.each(ALGS)("v1 and v2 round trips with %s and fresh keys and IVs", (alg) => {
    const master = byteRange(5, alg === "aes128gcm" ? 16 : 32);
    const data = byteRange(0, 1000);
    for (const chunkSize of [null, 64, 4096]) {
      const { ciphertext, entry } = encryptTensor(alg, master, data, chunkSize);
      expect(ciphertext).toHaveLength(data.length);
      expect(ciphertext.equals(data)).toBe(false);
      const dek = unwrapDataKey(alg, master, entry);
      expect(decryptTensor(alg, dek, ciphertext, entry, chunkSize).equals(data)).toBe(true);
      const again = encryptTensor(alg, master, data, chunkSize);
      expect(again.ciphertext.equals(ciphertext)).toBe(false);
    }
  });

  it("missing mode fields fail as decryption errors", () => {
    const master = byteRange(5, 32);
    const { ciphertext, entry } = encryptTensor("aes256gcm", master, byteRange(0, 10), 4);
    const dek = unwrapDataKey("aes256gcm", master, entry);
    expectCode(
      () => decryptTensor("aes256gcm", dek, ciphertext, { ...entry, tags: undefined }, 4),
      "ERR_DECRYPTION_FAILED",
    );
    expectCode(
      () => decryptTensor("aes256gcm", dek, ciphertext, entry, null),
      "ERR_DECRYPTION_FAILED",
    );
  });
});
