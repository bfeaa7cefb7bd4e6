import { describe, expect, it } from "vitest";
import { sign as nodeSign, createPrivateKey } from "node:crypto";
import {
  ed25519PublicKey,
  signPayload,
  signaturePayload,
  verifyPayload,
} from "../../../src/crypto/signature.js";
import { byteRange, SIGNING_PUBLIC_B64 } from "../../fixtures/worked-example.js";
import { expectCode } from "../../support/expect-code.js";

const hex = (s: string): Buffer => Buffer.from(s, "hex");

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
const RFC8032 = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

describe("Ed25519", () => {
  for (const [i, v] of RFC8032.entries()) {
    it(`RFC 8032 test ${i + 1}: public key, signature, verification`, () => {
      expect(ed25519PublicKey(hex(v.seed)).toString("hex")).toBe(v.pub);
      const signature = signPayload(hex(v.msg), hex(v.seed));
      expect(Buffer.from(signature, "base64").toString("hex")).toBe(v.sig);
      expect(signature).toHaveLength(88);
      expect(() => verifyPayload(hex(v.msg), signature, hex(v.pub))).not.toThrow();
    });
  }

  it("derives the §4.5 public key from its seed", () => {
    expect(ed25519PublicKey(byteRange(0x20, 32)).toString("base64")).toBe(SIGNING_PUBLIC_B64);
  });

  const seed = byteRange(0x20, 32);
  const pub = Buffer.from(SIGNING_PUBLIC_B64, "base64");
  const payload = Buffer.from(
    '{"__metadata__":{},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}',
  );
  const signature = signPayload(payload, seed);

  it("a modified payload or another key fails with ERR_SIGNATURE_INVALID", () => {
    const error = expectCode(
      () => verifyPayload(Buffer.concat([payload, Buffer.from(" ")]), signature, pub),
      "ERR_SIGNATURE_INVALID",
    );
    expect(error.message).toBe(
      "header signature does not verify: the file was modified or the verification key is wrong",
    );
    expectCode(
      () => verifyPayload(payload, signature, ed25519PublicKey(byteRange(0x21, 32))),
      "ERR_SIGNATURE_INVALID",
    );
    const flipped = Buffer.from(signature, "base64");
    flipped[10] = (flipped[10] as number) ^ 1;
    expectCode(
      () => verifyPayload(payload, flipped.toString("base64"), pub),
      "ERR_SIGNATURE_INVALID",
    );
  });

  it.each([
    ["not base64", "not a signature"],
    ["base64url", signature.replaceAll("+", "-").replaceAll("/", "_")],
    ["a trailing newline", `${signature}\n`],
    ["63 bytes", Buffer.alloc(63).toString("base64")],
    ["65 bytes", Buffer.alloc(65).toString("base64")],
    ["empty", ""],
  ])("a signature that is %s fails with ERR_SIGNATURE_FORMAT", (_name, text) => {
    expectCode(() => verifyPayload(payload, text, pub), "ERR_SIGNATURE_FORMAT");
  });

  it("refuses keys that are not 32 bytes", () => {
    expectCode(() => signPayload(payload, Buffer.alloc(64)), "ERR_KEY_INVALID");
    expectCode(() => verifyPayload(payload, signature, Buffer.alloc(31)), "ERR_KEY_INVALID");
  });

  it("matches node's own Ed25519 over the same seed (pure, no prehash)", () => {
    const jwk = {
      kty: "OKP",
      crv: "Ed25519",
      d: seed.toString("base64url"),
      x: pub.toString("base64url"),
    };
    const viaJwk = nodeSign(null, payload, createPrivateKey({ key: jwk, format: "jwk" }));
    expect(signature).toBe(viaJwk.toString("base64"));
  });
});

describe("signed payload", () => {
  it("drops __signature__, sorts metadata by UTF-8 bytes, keeps tensor order, no whitespace", () => {
    const payload = signaturePayload(
      [
        ["z", "1"],
        ["__signature__", "ignored"],
        ["é", "2"],
        ["Z", "3"],
        ["__policy__", '{"local":"a\\nb"}'],
      ],
      [
        { name: "w", dtype: "F16", shape: [2, 2], dataOffsets: [0, 8] },
        { name: "b", dtype: "F32", shape: [], dataOffsets: [8, 12] },
      ],
    ).toString("utf8");
    expect(payload).toBe(
      '{"__metadata__":{"Z":"3","__policy__":"{\\"local\\":\\"a\\\\nb\\"}","z":"1","é":"2"},' +
        '"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}',
    );
  });

  it("sorts by UTF-8 bytes, not UTF-16 code units", () => {
    // U+FF61 is one UTF-16 unit above the surrogate U+D83D of "😀", but its UTF-8 bytes (EF BD A1)
    // sort before the emoji's (F0 9F 98 80).
    const payload = signaturePayload(
      [
        ["😀", "a"],
        ["｡", "b"],
      ],
      [],
    ).toString("utf8");
    expect(payload).toBe('{"__metadata__":{"｡":"b","😀":"a"}}');
  });

  it("escapes like serde_json: control characters, quote and backslash only", () => {
    const payload = signaturePayload(
      [["k", '\u0000\u001f\b\t\n\f\r"\\/\u007f\u2028é']],
      [],
    ).toString("utf8");
    expect(payload).toBe(
      '{"__metadata__":{"k":"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028é"}}',
    );
  });

  it("writes big integers exactly from bigint, and refuses inexact numbers", () => {
    const payload = signaturePayload(
      [],
      [{ name: "e", dtype: "U8", shape: [0, 18446744073709551615n], dataOffsets: [0n, 0] }],
    );
    expect(payload.toString()).toContain('"shape":[0,18446744073709551615],"data_offsets":[0,0]');
    expect(() =>
      signaturePayload([], [{ name: "e", dtype: "U8", shape: [2 ** 60], dataOffsets: [0, 0] }]),
    ).toThrow(RangeError);
    expect(() =>
      signaturePayload([], [{ name: "e", dtype: "U8", shape: [1.5], dataOffsets: [0, 0] }]),
    ).toThrow(RangeError);
  });

  it("refuses lone surrogates, which the reference cannot parse", () => {
    expect(() => signaturePayload([["\udc00", "v"]], [])).toThrow(TypeError);
  });
});
