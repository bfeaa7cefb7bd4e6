import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLICY,
  parseCryptoKeys,
  parsePolicy,
  serializeCryptoKeys,
  serializePolicy,
  type CryptoKeysHeader,
} from "../../../src/crypto/reserved.js";
import { expectCode } from "../../support/expect-code.js";

const ENC = '{"alg":"aes256gcm","kid":"enc-1","kty":"oct"}';
const SIGN = '{"alg":"ed25519","kid":"sign-1","kty":"okp"}';
const keys = (extra: string, enc = ENC, sign = SIGN): string =>
  `{${extra}"enc":${enc},"sign":${sign}}`;

describe("__crypto_keys__", () => {
  it("parses the reference's v2 form and serializes it back byte for byte", () => {
    const text = `{"chunk_size":2097152,"enc":${ENC},"sign":${SIGN},"version":"2"}`;
    const parsed = parseCryptoKeys(text);
    expect(parsed).toEqual({
      version: "2",
      chunkSize: 2097152,
      explicitChunkSize: true,
      enc: { kty: "oct", alg: "aes256gcm", kid: "enc-1" },
      sign: { kty: "okp", alg: "ed25519", kid: "sign-1" },
    });
    expect(serializeCryptoKeys(parsed)).toBe(text);
  });

  it("defaults chunk_size to 2 MiB for v2 and to none for v1; a v1 header with chunk_size is chunked", () => {
    expect(parseCryptoKeys(keys('"version":"2",'))).toMatchObject({
      chunkSize: 2097152,
      explicitChunkSize: false,
    });
    expect(parseCryptoKeys(keys('"version":"1",'))).toMatchObject({
      chunkSize: null,
      explicitChunkSize: false,
    });
    expect(parseCryptoKeys(keys('"version":"1","chunk_size":8,'))).toMatchObject({
      version: "1",
      chunkSize: 8,
    });
  });

  it("writes chunk_size only when there is a chunk size, sorted keys at every level, and omits absent kid/jku", () => {
    const v1: CryptoKeysHeader = {
      version: "1",
      chunkSize: null,
      explicitChunkSize: false,
      enc: { kty: "oct", alg: "AES-256-GCM" },
      sign: { kty: "okp", alg: "ed25519", kid: "s", jku: "file:///k.jwk" },
    };
    expect(serializeCryptoKeys(v1)).toBe(
      '{"enc":{"alg":"AES-256-GCM","kty":"oct"},"sign":{"alg":"ed25519","jku":"file:///k.jwk","kid":"s","kty":"okp"},"version":"1"}',
    );
  });

  it('refuses to write an empty or unknown alg (a key loaded with alg "" cannot save)', () => {
    const base: CryptoKeysHeader = {
      version: "2",
      chunkSize: 4,
      explicitChunkSize: true,
      enc: { kty: "oct", alg: "aes256gcm" },
      sign: { kty: "okp", alg: "ed25519" },
    };
    expectCode(
      () => serializeCryptoKeys({ ...base, sign: { kty: "okp", alg: "" } }),
      "ERR_INVALID_ALGORITHM",
    );
    expectCode(
      () => serializeCryptoKeys({ ...base, enc: { kty: "oct", alg: "aes_256_gcm" } }),
      "ERR_INVALID_ALGORITHM",
    );
    expect(() => serializeCryptoKeys({ ...base, chunkSize: 0 })).toThrow(RangeError);
  });

  it("keeps alg verbatim, ignores unknown members, accepts null kid/jku and whitespace", () => {
    const parsed = parseCryptoKeys(
      ' { "version" : "2", "extra": [1], "enc": {"kty":"oct","alg":"AES-256-GCM","kid":null,"use":"enc"}, "sign": {"kty":"okp","alg":"ED25519","jku":null} } ',
    );
    expect(parsed.enc).toEqual({ kty: "oct", alg: "AES-256-GCM" });
    expect(parsed.sign).toEqual({ kty: "okp", alg: "ED25519" });
  });

  it.each([
    ["not JSON", "{", "ERR_CRYPTO_KEYS_INVALID"],
    [
      "a repeated key",
      `{"version":"2","version":"2","enc":${ENC},"sign":${SIGN}}`,
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    ["not an object (the reference reports the missing version)", "[]", "ERR_MISSING_VERSION"],
    ["no version", keys(""), "ERR_MISSING_VERSION"],
    ["a numeric version", keys('"version":2,'), "ERR_MISSING_VERSION"],
    ["version 3", keys('"version":"3",'), "ERR_UNSUPPORTED_VERSION"],
    ['version "2.0"', keys('"version":"2.0",'), "ERR_UNSUPPORTED_VERSION"],
    ["chunk_size 0", keys('"version":"2","chunk_size":0,'), "ERR_CRYPTO_KEYS_INVALID"],
    ["chunk_size 2.0", keys('"version":"2","chunk_size":2.0,'), "ERR_CRYPTO_KEYS_INVALID"],
    ["chunk_size 2e3", keys('"version":"2","chunk_size":2e3,'), "ERR_CRYPTO_KEYS_INVALID"],
    ['chunk_size "2"', keys('"version":"2","chunk_size":"2",'), "ERR_CRYPTO_KEYS_INVALID"],
    ["chunk_size -1", keys('"version":"2","chunk_size":-1,'), "ERR_CRYPTO_KEYS_INVALID"],
    ["chunk_size null", keys('"version":"2","chunk_size":null,'), "ERR_CRYPTO_KEYS_INVALID"],
    [
      "chunk_size 2^64",
      keys('"version":"2","chunk_size":18446744073709551616,'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    ["no enc", `{"version":"2","sign":${SIGN}}`, "ERR_CRYPTO_KEYS_INVALID"],
    ["enc not an object", keys('"version":"2",', '"x"'), "ERR_CRYPTO_KEYS_INVALID"],
    [
      "kty OKP (uppercase)",
      keys('"version":"2",', ENC, '{"alg":"ed25519","kty":"OKP"}'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    ["enc of kty okp", keys('"version":"2",', SIGN), "ERR_CRYPTO_KEYS_INVALID"],
    ["no alg", keys('"version":"2",', '{"kty":"oct"}'), "ERR_CRYPTO_KEYS_INVALID"],
    [
      "a numeric kid",
      keys('"version":"2",', '{"alg":"aes256gcm","kid":1,"kty":"oct"}'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    [
      "k in the header",
      keys('"version":"2",', '{"alg":"aes256gcm","k":"AAAA","kty":"oct"}'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    [
      "x in the header",
      keys('"version":"2",', ENC, '{"alg":"ed25519","kty":"okp","x":"AAAA"}'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    [
      "d in the header",
      keys('"version":"2",', ENC, '{"alg":"ed25519","d":"AAAA","kty":"okp"}'),
      "ERR_CRYPTO_KEYS_INVALID",
    ],
    ["an empty alg", keys('"version":"2",', '{"alg":"","kty":"oct"}'), "ERR_INVALID_ALGORITHM"],
    [
      "an unknown enc alg",
      keys('"version":"2",', '{"alg":"aes_256_gcm","kty":"oct"}'),
      "ERR_INVALID_ALGORITHM",
    ],
    [
      "an unknown sign alg",
      keys('"version":"2",', ENC, '{"alg":"ed448","kty":"okp"}'),
      "ERR_INVALID_ALGORITHM",
    ],
  ] as const)("refuses %s", (_name, text, code) => {
    expectCode(() => parseCryptoKeys(text), code);
  });

  it("never echoes key material found in a header", () => {
    const secret = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
    const error = expectCode(
      () =>
        parseCryptoKeys(keys('"version":"2",', `{"alg":"aes256gcm","k":"${secret}","kty":"oct"}`)),
      "ERR_CRYPTO_KEYS_INVALID",
    );
    expect(error.message).not.toContain(secret);
  });
});

describe("__policy__", () => {
  it("serializes the default as the reference and parses it back", () => {
    const text = serializePolicy({ local: DEFAULT_POLICY, remote: DEFAULT_POLICY });
    expect(text).toBe(
      '{"local":"package model\\nallow = true","remote":"package model\\nallow = true"}',
    );
    expect(parsePolicy(text)).toEqual({ local: DEFAULT_POLICY, remote: DEFAULT_POLICY });
  });

  it("ignores unknown members and accepts any member order", () => {
    expect(parsePolicy('{"remote":"r","extra":1,"local":"l"}')).toEqual({
      local: "l",
      remote: "r",
    });
  });

  it.each([
    ["not JSON", "package model"],
    ["not an object", '"allow"'],
    ["no remote", '{"local":"package model"}'],
    ["a null local", '{"local":null,"remote":"r"}'],
    ["a repeated key", '{"local":"a","local":"b","remote":"r"}'],
  ])("refuses %s with ERR_POLICY_MISSING", (_name, text) => {
    expectCode(() => parsePolicy(text), "ERR_POLICY_MISSING");
  });

  it("refuses to write a lone surrogate, which the reference could not read", () => {
    expect(() => serializePolicy({ local: "\ud800", remote: "" })).toThrow(TypeError);
  });
});
