import { describe, expect, it } from "vitest";
import { createCipheriv } from "node:crypto";
import { open, seal } from "../../../src/crypto/aead.js";
import type { AeadAlgorithm } from "../../../src/crypto/algorithms.js";
import { expectCode } from "../../support/expect-code.js";

const hex = (s: string): Buffer => Buffer.from(s, "hex");

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3 and 15 (no AAD), and
// 1/13 (empty plaintext, all-zero key and IV).
const GCM_PLAINTEXT = hex(
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
);
const VECTORS: Array<{
  name: string;
  alg: AeadAlgorithm;
  key: Buffer;
  iv: Buffer;
  pt: Buffer;
  ct: string;
  tag: string;
}> = [
  {
    name: "GCM test case 3 (AES-128)",
    alg: "aes128gcm",
    key: hex("feffe9928665731c6d6a8f9467308308"),
    iv: hex("cafebabefacedbaddecaf888"),
    pt: GCM_PLAINTEXT,
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    name: "GCM test case 15 (AES-256)",
    alg: "aes256gcm",
    key: hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
    iv: hex("cafebabefacedbaddecaf888"),
    pt: GCM_PLAINTEXT,
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
    tag: "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    name: "GCM test case 1 (AES-128, empty)",
    alg: "aes128gcm",
    key: Buffer.alloc(16),
    iv: Buffer.alloc(12),
    pt: Buffer.alloc(0),
    ct: "",
    tag: "58e2fccefa7e3061367f1d57a4e7455a",
  },
  {
    name: "GCM test case 13 (AES-256, empty)",
    alg: "aes256gcm",
    key: Buffer.alloc(32),
    iv: Buffer.alloc(12),
    pt: Buffer.alloc(0),
    ct: "",
    tag: "530f8afbc74536b9a963b4f1c4cb738b",
  },
  // RFC 8439 §2.8.2 inputs without the AAD (our format's AAD is always empty). The expected values
  // come from an independent pure-Python ChaCha20-Poly1305 that reproduces §2.8.2 with its AAD.
  {
    name: "RFC 8439 §2.8.2 inputs, empty AAD (ChaCha20-Poly1305)",
    alg: "chacha20poly1305",
    key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
    iv: hex("070000004041424344454647"),
    pt: Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ),
    ct: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
    tag: "6a23a4681fd59456aea1d29f82477216",
  },
  {
    name: "RFC 8439 key and nonce, empty plaintext (ChaCha20-Poly1305)",
    alg: "chacha20poly1305",
    key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
    iv: hex("070000004041424344454647"),
    pt: Buffer.alloc(0),
    ct: "",
    tag: "a0784d7a4716f3feb4f64e7f4b39bf04",
  },
];

describe("AEAD known answers", () => {
  for (const v of VECTORS) {
    it(`seal and open: ${v.name}`, () => {
      const { ciphertext, tag } = seal(v.alg, v.key, v.iv, v.pt);
      expect(ciphertext.toString("hex")).toBe(v.ct);
      expect(tag.toString("hex")).toBe(v.tag);
      expect(open(v.alg, v.key, v.iv, ciphertext, tag).equals(v.pt)).toBe(true);
    });
  }

  it("node's ChaCha20-Poly1305 reproduces RFC 8439 §2.8.2 with its AAD (the algorithm name is right)", () => {
    const v = VECTORS[4]!;
    const cipher = createCipheriv("chacha20-poly1305", v.key, v.iv, { authTagLength: 16 });
    cipher.setAAD(hex("50515253c0c1c2c3c4c5c6c7"), { plaintextLength: v.pt.length });
    const ct = Buffer.concat([cipher.update(v.pt), cipher.final()]);
    expect(ct.subarray(0, 16).toString("hex")).toBe("d31a8d34648e60db7b86afbc53ef7ec2");
    expect(cipher.getAuthTag().toString("hex")).toBe("1ae10b594f09e26a7e902ecbd0600691");
  });
});

describe("AEAD failures", () => {
  const key = Buffer.alloc(32, 7);
  const iv = Buffer.alloc(12, 1);
  const { ciphertext, tag } = seal("aes256gcm", key, iv, Buffer.from("secret tensor bytes"));

  it.each([
    ["a flipped ciphertext bit", () => open("aes256gcm", key, iv, flip(ciphertext), tag)],
    ["a flipped tag bit", () => open("aes256gcm", key, iv, ciphertext, flip(tag))],
    ["another IV", () => open("aes256gcm", key, Buffer.alloc(12, 2), ciphertext, tag)],
    ["another key", () => open("aes256gcm", Buffer.alloc(32, 8), iv, ciphertext, tag)],
    ["another algorithm", () => open("chacha20poly1305", key, iv, ciphertext, tag)],
    [
      "a truncated (12-byte) tag that node would accept",
      () => open("aes256gcm", key, iv, ciphertext, tag.subarray(0, 12)),
    ],
    ["an empty tag", () => open("aes256gcm", key, iv, ciphertext, Buffer.alloc(0))],
  ])("%s → ERR_DECRYPTION_FAILED with one opaque message", (_name, run) => {
    const error = expectCode(run, "ERR_DECRYPTION_FAILED");
    expect(error.message).toBe(
      "decryption failed: the key is wrong or the data, IV or tag was modified",
    );
    expect(error.cause).toBeUndefined();
  });

  it("rejects wrong key and IV lengths with their own codes", () => {
    expectCode(() => seal("aes128gcm", key, iv, Buffer.alloc(1)), "ERR_INVALID_KEY_LENGTH");
    expectCode(
      () => open("aes256gcm", key.subarray(0, 16), iv, ciphertext, tag),
      "ERR_INVALID_KEY_LENGTH",
    );
    expectCode(
      () => seal("aes256gcm", key, Buffer.alloc(16), Buffer.alloc(1)),
      "ERR_INVALID_IV_LENGTH",
    );
    expectCode(
      () => open("aes256gcm", key, Buffer.alloc(0), ciphertext, tag),
      "ERR_INVALID_IV_LENGTH",
    );
  });

  it("refuses non-bytes arguments with TypeError", () => {
    expect(() => seal("aes256gcm", "k" as unknown as Uint8Array, iv, Buffer.alloc(1))).toThrow(
      TypeError,
    );
    expect(() => open("aes256gcm", key, iv, [1, 2] as unknown as Uint8Array, tag)).toThrow(
      TypeError,
    );
  });
});

function flip(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[0] = (copy[0] as number) ^ 1;
  return copy;
}
