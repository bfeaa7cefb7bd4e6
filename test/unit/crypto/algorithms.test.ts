import { describe, expect, it } from "vitest";
import {
  isEd25519,
  keyLength,
  nodeCipherName,
  parseAlgorithm,
} from "../../../src/crypto/algorithms.js";
import { expectCode } from "../../support/expect-code.js";

describe("algorithm names", () => {
  it.each([
    ["aes256gcm", "aes256gcm"],
    ["AES-256-GCM", "aes256gcm"],
    ["aes-128-gcm", "aes128gcm"],
    ["A-E-S-1-2-8-G-C-M", "aes128gcm"],
    ["ChaCha20-Poly1305", "chacha20poly1305"],
    ["CHACHA20POLY1305", "chacha20poly1305"],
  ])("parses %j", (name, alg) => {
    expect(parseAlgorithm(name)).toBe(alg);
  });

  it.each(["aes_256_gcm", "aes256", "aes 256 gcm", "", "xchacha20poly1305", "aes192gcm"])(
    "refuses %j",
    (name) => {
      expectCode(() => parseAlgorithm(name), "ERR_INVALID_ALGORITHM");
    },
  );

  it("knows key lengths and node cipher names", () => {
    expect(keyLength("aes128gcm")).toBe(16);
    expect(keyLength("aes256gcm")).toBe(32);
    expect(keyLength("chacha20poly1305")).toBe(32);
    expect(nodeCipherName("aes128gcm")).toBe("aes-128-gcm");
    expect(nodeCipherName("aes256gcm")).toBe("aes-256-gcm");
    expect(nodeCipherName("chacha20poly1305")).toBe("chacha20-poly1305");
  });

  it("compares Ed25519 case-insensitively without stripping", () => {
    expect(isEd25519("ed25519")).toBe(true);
    expect(isEd25519("ED25519")).toBe(true);
    expect(isEd25519("Ed25519")).toBe(true);
    expect(isEd25519("ed-25519")).toBe(false);
    expect(isEd25519("")).toBe(false);
  });
});
