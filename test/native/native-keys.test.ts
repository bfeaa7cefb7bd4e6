// The addon's Ed25519 derivation and signing (native/ed25519.h) against node:crypto's, and the
// JWK check that uses the derivation.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ed25519PublicKey, signPayload, verifyPayload } from "../../src/crypto/signature.js";
import { parseJwk } from "../../src/keys/jwk.js";
import { derivePublicKey, nativeKeyBinding, signWithSeed } from "../../src/keys/native-keys.js";
import { expectCode } from "../support/expect-code.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("derivePublicKey", () => {
  it("gives node:crypto's public key for any seed, with the addon and without", () => {
    for (let i = 0; i < 50; i++) {
      const seed = randomBytes(32);
      const expected = ed25519PublicKey(seed);
      expect(derivePublicKey(seed).equals(expected)).toBe(true);
      vi.stubEnv("CRYPTOTENSORS_BACKEND", "fallback");
      expect(derivePublicKey(seed).equals(expected)).toBe(true);
      vi.unstubAllEnvs();
    }
  });

  it("the addon refuses seeds and outputs that are not 32 bytes", () => {
    const binding = nativeKeyBinding();
    if (binding === null) throw new Error("the addon has no key helpers: rebuild it");
    expect(() => binding.ed25519PublicKey(Buffer.alloc(31), Buffer.alloc(32))).toThrow(RangeError);
    expect(() => binding.ed25519PublicKey(Buffer.alloc(32), Buffer.alloc(33))).toThrow(RangeError);
    expect(() => binding.ed25519PublicKey("seed" as never, Buffer.alloc(32))).toThrow(TypeError);
  });

  it("a JWK whose x is not the public key of its d is still refused", () => {
    const seed = randomBytes(32);
    const x = ed25519PublicKey(seed);
    const jwk = { kty: "okp", alg: "ed25519", d: seed.toString("base64"), x: x.toString("base64") };
    expect(parseJwk(jwk).kind).toBe("sign");
    x[0] = (x[0] as number) ^ 1;
    expectCode(() => parseJwk({ ...jwk, x: x.toString("base64") }), "ERR_KEY_INVALID");
  });
});

describe("signWithSeed", () => {
  it("gives node:crypto's signature for any seed and payload, with the addon and without", () => {
    for (let i = 0; i < 40; i++) {
      const seed = randomBytes(32);
      const payload = randomBytes(i * 97);
      const expected = signPayload(payload, seed);
      expect(signWithSeed(payload, seed)).toBe(expected);
      vi.stubEnv("CRYPTOTENSORS_BACKEND", "fallback");
      expect(signWithSeed(payload, seed)).toBe(expected);
      vi.unstubAllEnvs();
      verifyPayload(payload, expected, ed25519PublicKey(seed));
    }
  });

  it("a seed that is not 32 bytes gets the typed error; the addon refuses wrong lengths", () => {
    expectCode(() => signWithSeed(Buffer.alloc(4), Buffer.alloc(31)), "ERR_KEY_INVALID");
    const binding = nativeKeyBinding();
    if (binding?.ed25519Sign === undefined)
      throw new Error("the addon has no ed25519Sign: rebuild it");
    const sign = binding.ed25519Sign.bind(binding);
    expect(() => sign(Buffer.alloc(31), Buffer.alloc(4), Buffer.alloc(64))).toThrow(RangeError);
    expect(() => sign(Buffer.alloc(32), Buffer.alloc(4), Buffer.alloc(63))).toThrow(RangeError);
    expect(() => sign(Buffer.alloc(32), "text" as never, Buffer.alloc(64))).toThrow(TypeError);
  });
});
