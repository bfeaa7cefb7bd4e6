import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeBase64, encodeBase64, isStrictBase64 } from "../../../src/crypto/base64.js";
import { expectCode } from "../../support/expect-code.js";

describe("strict standard base64", () => {
  it.each([
    ["", ""],
    ["AA==", "00"],
    ["AAE=", "0001"],
    ["AAEC", "000102"],
    ["+/8=", "fbff"],
    ["oKGio6Slpqeoqaqr", "a0a1a2a3a4a5a6a7a8a9aaab"],
  ])("decodes %j", (text, hex) => {
    expect(decodeBase64(text, "ERR_KEY_INVALID", "k").toString("hex")).toBe(hex);
  });

  it.each([
    ["missing padding", "AA"],
    ["missing one pad", "AAE"],
    ["too much padding", "AA==="],
    ["padding in the middle", "AA==AAAA"],
    ["single = at length 4 after two chars", "AA=A"],
    ["base64url '-'", "-_8="],
    ["base64url '_'", "AA_A"],
    ["a space", "AAEC AAEC"],
    ["a trailing newline", "AAEC\n"],
    ["a leading space", " AAEC"],
    ["a tab", "AA\tC"],
    ["non-zero trailing bits with ==", "AB=="],
    ["non-zero trailing bits with =", "AAF="],
    ["non-ASCII", "AAé="],
    ["a NUL", "AA\u0000="],
    ["length 1", "A"],
    ["only padding", "===="],
  ])("refuses %s", (_name, text) => {
    expect(isStrictBase64(text)).toBe(false);
    const error = expectCode(
      () => decodeBase64(text, "ERR_KEY_INVALID", "JWK k"),
      "ERR_KEY_INVALID",
    );
    expect(error.message).toMatch(/^JWK k is not valid standard base64/);
  });

  it("never echoes the refused text", () => {
    const secret = "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkw-";
    const error = expectCode(
      () => decodeBase64(secret, "ERR_ENCRYPTION_INVALID", "wrapped_key"),
      "ERR_ENCRYPTION_INVALID",
    );
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(secret.slice(0, 12));
  });

  it("returns unpooled buffers, so wiping one leaves other data alone", () => {
    const a = decodeBase64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ERR_KEY_INVALID", "k");
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(32);
  });

  it("round-trips any bytes, with canonical output that is strict", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(isStrictBase64(text)).toBe(true);
        expect(decodeBase64(text, "ERR_KEY_INVALID", "x").equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it("encodes subarrays by their own bytes, with the documented lengths", () => {
    const big = Buffer.from("00112233445566778899", "hex");
    expect(encodeBase64(big.subarray(2, 5))).toBe(Buffer.from("223344", "hex").toString("base64"));
    expect(encodeBase64(new Uint8Array(12))).toHaveLength(16);
    expect(encodeBase64(new Uint8Array(16))).toHaveLength(24);
    expect(encodeBase64(new Uint8Array(32))).toHaveLength(44);
    expect(encodeBase64(new Uint8Array(64))).toHaveLength(88);
  });
});
