import { describe, expect, it } from "vitest";
import { MasterKey, SigningKey, parseJwk, toJwk } from "../../src/keys/jwk.js";
import { expectCode } from "../support/expect-code.js";

const K32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K16 = "AAECAwQFBgcICQoLDA0ODw==";
const D = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const X = "Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=";

describe("parseJwk", () => {
  it("parses a master key in the reference's form", () => {
    const key = parseJwk({
      kty: "oct",
      alg: "aes256gcm",
      kid: "enc-1",
      jku: "file:///k.jwk",
      k: K32,
      use: "enc",
    });
    expect(key).toBeInstanceOf(MasterKey);
    const master = key as MasterKey;
    expect(master.kind).toBe("master");
    expect(master.alg).toBe("aes256gcm");
    expect(master.kid).toBe("enc-1");
    expect(master.jku).toBe("file:///k.jwk");
    expect(master.key.toString("base64")).toBe(K32);
    expect(master.descriptor()).toEqual({
      kty: "oct",
      alg: "aes256gcm",
      kid: "enc-1",
      jku: "file:///k.jwk",
    });
  });

  it("parses signing and verification-only keys", () => {
    const signer = parseJwk({
      kty: "okp",
      alg: "ed25519",
      kid: "sign-1",
      x: X,
      d: D,
    }) as SigningKey;
    expect(signer.kind).toBe("sign");
    expect(signer.canSign).toBe(true);
    expect(signer.publicKey.toString("base64")).toBe(X);
    expect(signer.privateKey?.toString("base64")).toBe(D);
    const verifier = parseJwk({ kty: "okp", alg: "ED25519", x: X }) as SigningKey;
    expect(verifier.canSign).toBe(false);
    expect(verifier.privateKey).toBeUndefined();
    expect(verifier.kid).toBeUndefined();
  });

  it("accepts an empty alg (the header's is used), a null kid, and other algorithm spellings", () => {
    expect((parseJwk({ kty: "oct", alg: "", k: K16 }) as MasterKey).alg).toBe("");
    expect(
      (parseJwk({ kty: "oct", alg: "AES-128-GCM", kid: null, k: K16 }) as MasterKey).kid,
    ).toBeUndefined();
    expect(parseJwk({ kty: "okp", alg: "", x: X })).toBeInstanceOf(SigningKey);
  });

  it.each([
    ["not an object", "a string", /must be a JSON object/],
    ["an array", [], /must be a JSON object/],
    ["null", null, /must be a JSON object/],
    ["RFC 8037 OKP on another curve", { kty: "OKP", crv: "X25519", x: X }, /"crv": "Ed25519"/],
    ["RFC 8037 OKP without crv", { kty: "OKP", x: X }, /"crv": "Ed25519"/],
    ["kty OCT", { kty: "OCT", alg: "aes256gcm", k: K32 }, /"kty" must be "oct", "okp" or "OKP"/],
    ["kty RSA", { kty: "RSA", alg: "RS256" }, /"kty" must be "oct", "okp" or "OKP"/],
    ["a numeric alg", { kty: "oct", alg: 5, k: K32 }, /"alg" must be a string/],
    [
      "an unknown encryption alg",
      { kty: "oct", alg: "aes_256_gcm", k: K32 },
      /"alg" is not an encryption algorithm/,
    ],
    ["an okp alg that is not ed25519", { kty: "okp", alg: "ES256", x: X }, /"alg" of kty "okp"/],
    ["a numeric kid", { kty: "oct", alg: "aes256gcm", kid: 1, k: K32 }, /"kid" must be a string/],
    ["a jku object", { kty: "oct", alg: "aes256gcm", jku: {}, k: K32 }, /"jku" must be a string/],
    [
      "a lone surrogate kid",
      { kty: "oct", alg: "aes256gcm", kid: "\ud800", k: K32 },
      /"kid" is not valid Unicode/,
    ],
    ["oct without k", { kty: "oct", alg: "aes256gcm" }, /needs "k"/],
    [
      "mixed base64 alphabets",
      {
        kty: "oct",
        alg: "aes256gcm",
        k: `+${Buffer.alloc(32, 0xfb).toString("base64url").slice(1)}`,
      },
      /"k" is neither standard base64/,
    ],
    [
      "base64url with non-zero trailing bits",
      { kty: "oct", alg: "aes256gcm", k: `${K32.slice(0, -2)}9` },
      /"k" is neither/,
    ],
    ["k with whitespace", { kty: "oct", alg: "aes256gcm", k: ` ${K32}` }, /"k" is neither/],
    ["a numeric k", { kty: "oct", alg: "aes256gcm", k: 5 }, /"k" must be a base64 string/],
    [
      "a 16-byte k for aes256gcm",
      { kty: "oct", alg: "aes256gcm", k: K16 },
      /"k" is 16 bytes; aes256gcm needs 32/,
    ],
    ["a 32-byte k for aes128gcm", { kty: "oct", alg: "aes128gcm", k: K32 }, /"k" is 32 bytes/],
    [
      "a 24-byte k with an empty alg",
      { kty: "oct", alg: "", k: Buffer.alloc(24).toString("base64") },
      /needs 16 or 32/,
    ],
    ["okp without x (never derived from d)", { kty: "okp", alg: "ed25519", d: D }, /needs "x"/],
    [
      "a 31-byte x",
      { kty: "okp", alg: "ed25519", x: Buffer.alloc(31).toString("base64") },
      /"x" is 31 bytes/,
    ],
    [
      "a 64-byte expanded d",
      { kty: "okp", alg: "ed25519", x: X, d: Buffer.alloc(64).toString("base64") },
      /"d" is 64 bytes/,
    ],
    [
      "x that does not match d",
      { kty: "okp", alg: "ed25519", x: K32, d: D },
      /"x" is not the public key of "d"/,
    ],
  ])("refuses %s with ERR_KEY_INVALID naming the field", (_name, value, message) => {
    const error = expectCode(() => parseJwk(value), "ERR_KEY_INVALID");
    expect(error.message).toMatch(message);
    for (const secret of [K32, K16, D]) expect(error.message).not.toContain(secret);
  });

  it("reads RFC 7517 JWKs (OKP/crv, JWA alg names, base64url) into the same keys", () => {
    const url = (b64: string): string => Buffer.from(b64, "base64").toString("base64url");
    const signer = parseJwk({
      kty: "OKP",
      crv: "Ed25519",
      alg: "EdDSA",
      kid: "s",
      x: url(X),
      d: url(D),
    }) as SigningKey;
    expect(signer.alg).toBe("ed25519");
    expect(signer.publicKey.toString("base64")).toBe(X);
    expect(signer.privateKey?.toString("base64")).toBe(D);
    const verifier = parseJwk({ kty: "OKP", crv: "Ed25519", x: url(X) }) as SigningKey;
    expect(verifier.alg).toBe("ed25519");
    expect(verifier.canSign).toBe(false);
    const master = parseJwk({ kty: "oct", alg: "A256GCM", k: url(K32), use: "enc" }) as MasterKey;
    expect(master.alg).toBe("aes256gcm");
    expect(master.key.toString("base64")).toBe(K32);
    expect((parseJwk({ kty: "oct", alg: "A128GCM", k: url(K16) }) as MasterKey).alg).toBe(
      "aes128gcm",
    );
    expect((parseJwk({ kty: "oct", alg: "C20P", k: K32 }) as MasterKey).alg).toBe(
      "chacha20poly1305",
    );
    // No alg: the header's algorithm is used when loading.
    expect((parseJwk({ kty: "oct", k: url(K32) }) as MasterKey).alg).toBe("");
    // Written back in the reference's form.
    expect(toJwk(signer)).toEqual({ kty: "okp", alg: "ed25519", kid: "s", x: X, d: D });
    expect(toJwk(master)).toEqual({ kty: "oct", alg: "aes256gcm", k: K32 });
  });

  it("returns parsed key objects unchanged", () => {
    const key = parseJwk({ kty: "oct", alg: "aes256gcm", k: K32 });
    expect(parseJwk(key)).toBe(key);
  });
});

describe("toJwk and wipe", () => {
  it("writes the reference's field order with standard base64", () => {
    const master = parseJwk({ k: K32, kid: "enc-1", alg: "aes256gcm", kty: "oct" });
    expect(JSON.stringify(toJwk(master))).toBe(
      `{"kty":"oct","alg":"aes256gcm","kid":"enc-1","k":"${K32}"}`,
    );
    const signer = parseJwk({
      d: D,
      x: X,
      jku: "file:///j",
      kid: "sign-1",
      alg: "ed25519",
      kty: "okp",
    });
    expect(JSON.stringify(toJwk(signer))).toBe(
      `{"kty":"okp","alg":"ed25519","kid":"sign-1","jku":"file:///j","x":"${X}","d":"${D}"}`,
    );
    expect(JSON.stringify(toJwk(parseJwk({ kty: "okp", alg: "ed25519", x: X })))).toBe(
      `{"kty":"okp","alg":"ed25519","x":"${X}"}`,
    );
  });

  it("zeroes the key bytes and makes the key unusable", () => {
    const master = parseJwk({ kty: "oct", alg: "aes256gcm", k: K32 }) as MasterKey;
    const bytes = master.key;
    master.wipe();
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(() => master.key).toThrow(TypeError);
    const signer = parseJwk({ kty: "okp", alg: "ed25519", x: X, d: D }) as SigningKey;
    const seed = signer.privateKey!;
    const pub = signer.publicKey;
    signer.wipe();
    expect(seed.every((b) => b === 0) && pub.every((b) => b === 0)).toBe(true);
    expect(() => signer.privateKey).toThrow(TypeError);
    expect(signer.canSign).toBe(false);
  });
});
