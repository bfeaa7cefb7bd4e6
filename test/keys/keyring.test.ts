import { describe, expect, it } from "vitest";
import { KeyRing, keyRingFromEnv, parseKeySet } from "../../src/keys/keyring.js";
import { parseJwk } from "../../src/keys/jwk.js";
import { expectCode } from "../support/expect-code.js";

const K32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K32B = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const D = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const X = "Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=";

const enc1 = { kty: "oct", alg: "aes256gcm", kid: "enc-1", k: K32 };
const enc2 = { kty: "oct", alg: "aes256gcm", kid: "enc-2", k: K32B };
const verifyOnly = { kty: "okp", alg: "ed25519", kid: "pub", x: X };
const signer = { kty: "okp", alg: "ed25519", kid: "sign-1", x: X, d: D };

describe("KeyRing selection (FORMAT.md §5.2)", () => {
  const ring = parseKeySet({ keys: [verifyOnly, enc1, signer, enc2] });

  it("with a kid: the exact match or nothing", () => {
    expect(ring.findMaster("enc-2")?.kid).toBe("enc-2");
    expect(ring.findMaster("sign-1")).toBeUndefined();
    expect(ring.findMaster("ENC-1")).toBeUndefined();
    expect(ring.findVerifier("sign-1")?.kid).toBe("sign-1");
    expect(ring.findVerifier("enc-1")).toBeUndefined();
  });

  it("without a kid: the first key of the kind", () => {
    expect(ring.findMaster()?.kid).toBe("enc-1");
    expect(ring.findVerifier()?.kid).toBe("pub");
  });

  it("signers must hold the private seed", () => {
    expect(ring.findSigner()?.kid).toBe("sign-1");
    expect(ring.findSigner("pub")).toBeUndefined();
    expect(ring.findSigner("sign-1")?.canSign).toBe(true);
  });

  it("empty kinds find nothing", () => {
    const only = parseKeySet([enc1]);
    expect(only.findVerifier()).toBeUndefined();
    expect(only.findSigner()).toBeUndefined();
  });
});

describe("parseKeySet", () => {
  it("accepts a JWK set, an array, one JWK, key objects and a KeyRing", () => {
    expect(parseKeySet({ keys: [enc1, signer] }).masters).toHaveLength(1);
    expect(parseKeySet([enc1, enc2]).masters).toHaveLength(2);
    expect(parseKeySet(signer).signers).toHaveLength(1);
    const key = parseJwk(enc1);
    expect(parseKeySet([key]).masters[0]).toBe(key);
    const ring = new KeyRing([key]);
    expect(parseKeySet(ring)).toBe(ring);
  });

  it.each([
    ["a number", 5],
    ["null", null],
    ["an object with neither keys nor kty", { foo: 1 }],
    ["keys that is not an array", { keys: {} }],
  ])("refuses %s", (_name, value) => {
    expectCode(() => parseKeySet(value), "ERR_KEY_INVALID");
  });

  it("names the bad key by index", () => {
    const error = expectCode(
      () => parseKeySet({ keys: [enc1, { kty: "oct", alg: "aes256gcm", k: "bad" }] }),
      "ERR_KEY_INVALID",
    );
    expect(error.message).toMatch(/^keys\[1\]: JWK "k" is neither standard base64/);
  });
});

describe("CRYPTOTENSOR_KEYS", () => {
  it("is null when unset", () => {
    expect(keyRingFromEnv({})).toBeNull();
  });

  it("holds a JWK set or one JWK", () => {
    expect(
      keyRingFromEnv({ CRYPTOTENSOR_KEYS: JSON.stringify({ keys: [enc1, signer] }) })?.findMaster(
        "enc-1",
      ),
    ).toBeDefined();
    expect(keyRingFromEnv({ CRYPTOTENSOR_KEYS: JSON.stringify(enc1) })?.findMaster()?.kid).toBe(
      "enc-1",
    );
  });

  it.each([
    ["a path (not read, as in the reference)", "/etc/keys.json"],
    ["an empty string", ""],
    ["a bare array (refused by the reference)", JSON.stringify([enc1])],
    ["a JWK with a bad k", JSON.stringify({ kty: "oct", alg: "aes256gcm", k: "-_-_" })],
  ])("refuses %s with ERR_KEY_INVALID, never echoing it", (_name, text) => {
    const error = expectCode(() => keyRingFromEnv({ CRYPTOTENSOR_KEYS: text }), "ERR_KEY_INVALID");
    expect(error.message).toMatch(/^CRYPTOTENSOR_KEYS/);
    if (text !== "") expect(error.message).not.toContain(text);
  });

  it("does not leak a secret from malformed JSON", () => {
    const text = `{"keys":[{"kty":"oct","alg":"aes256gcm","k":"${K32}"}`; // truncated
    const error = expectCode(() => keyRingFromEnv({ CRYPTOTENSOR_KEYS: text }), "ERR_KEY_INVALID");
    expect(error.message).not.toContain(K32.slice(0, 8));
    expect(error.cause).toBeUndefined();
  });
});
