import { describe, expect, it } from "vitest";
import { generateKeySet, generateMasterKey, generateSigningKey } from "../../src/keys/generate.js";
import { parseKeySet } from "../../src/keys/keyring.js";
import { signPayload, verifyPayload } from "../../src/crypto/signature.js";

describe("key generation", () => {
  it("writes a reference-form JWK set that parses back", () => {
    const set = generateKeySet({ encKid: "enc-1", signKid: "sign-1" });
    const [enc, sign] = set.keys;
    expect(Object.keys(enc)).toEqual(["kty", "alg", "kid", "k"]);
    expect(Object.keys(sign)).toEqual(["kty", "alg", "kid", "x", "d"]);
    expect(enc).toMatchObject({ kty: "oct", alg: "aes256gcm", kid: "enc-1" });
    expect(sign).toMatchObject({ kty: "okp", alg: "ed25519", kid: "sign-1" });
    expect(enc["k"]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const ring = parseKeySet(set);
    expect(ring.findMaster("enc-1")?.key).toHaveLength(32);
    const signer = ring.findSigner("sign-1")!;
    const payload = Buffer.from("header");
    verifyPayload(payload, signPayload(payload, signer.privateKey!), signer.publicKey);
  });

  it("honours alg and omits kids that are not given (the reference sets none)", () => {
    const set = generateKeySet({ alg: "aes128gcm" });
    expect(set.keys[0]).not.toHaveProperty("kid");
    expect(set.keys[1]).not.toHaveProperty("kid");
    expect(Buffer.from(set.keys[0]["k"]!, "base64")).toHaveLength(16);
    expect(parseKeySet(generateKeySet({ alg: "chacha20poly1305" })).findMaster()?.alg).toBe(
      "chacha20poly1305",
    );
  });

  it("refuses unknown algorithms and empty kids", () => {
    expect(() => generateKeySet({ alg: "aes192gcm" as "aes128gcm" })).toThrow(RangeError);
    expect(() => generateKeySet({ encKid: "" })).toThrow(TypeError);
  });

  it("draws fresh keys every time", () => {
    expect(generateMasterKey().key.equals(generateMasterKey().key)).toBe(false);
    const a = generateSigningKey("s");
    expect(a.kid).toBe("s");
    expect(a.privateKey!.equals(generateSigningKey().privateKey!)).toBe(false);
  });
});
