import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { unwrapDataKey } from "../../../src/crypto/envelope.js";
import {
  parseCryptoKeys,
  parseEncryption,
  parsePolicy,
  DEFAULT_POLICY,
} from "../../../src/crypto/reserved.js";
import { signaturePayload, verifyPayload } from "../../../src/crypto/signature.js";
import { decryptTensor } from "../../fixtures/tensor-data.js";
import { parseKeySet } from "../../../src/keys/keyring.js";
import { buildWorkedExample } from "../../fixtures/worked-example.js";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("FORMAT.md §4.5 worked example", () => {
  const example = buildWorkedExample();

  it("reproduces the signed string, the signature and the file hash", () => {
    expect(example.signedPayload).toHaveLength(945);
    expect(sha256(example.signedPayload)).toBe(
      "b5ed0226c64257ee179f53eb668ab3ef778ae897e5b004b1be25ace4b84bfc92",
    );
    expect(example.signature).toBe(
      "eNezfToDEvcR8jHI2gtmz92C4EE6RBTQ0f3YZNZRvVYmvQSa79R6rnf7AI7b9Xj7upLwJCBJ631LeGdnwyjACw==",
    );
    expect(example.ciphertexts["bias"]?.toString("hex")).toBe("e12010e884ef8711");
    expect(example.ciphertexts["weight"]?.toString("hex")).toBe("03f4a63662f5b47f");
    expect(example.file).toHaveLength(1080);
    expect(example.file.readBigUInt64LE(0)).toBe(1056n);
    expect(example.file.subarray(8 + 1052, 8 + 1056).toString()).toBe("    ");
    expect(sha256(example.file)).toBe(
      "aa0cb084763e16363205c9ababfc8bd3f5bda06d1558034ecbe0bfc94b243169",
    );
  });

  it("opens again with its own key set through the parsers (header → verify → unwrap → decrypt)", () => {
    const header = JSON.parse(example.file.subarray(8, 8 + 1056).toString()) as Record<
      string,
      unknown
    >;
    const metadata = Object.entries(header["__metadata__"] as Record<string, string>);
    const meta = new Map(metadata);
    const ring = parseKeySet(example.keys);
    const keys = parseCryptoKeys(meta.get("__crypto_keys__")!);
    expect(keys.chunkSize).toBe(4);
    const verifier = ring.findVerifier(keys.sign.kid)!;
    const tensors = (["bias", "weight"] as const).map((name) => {
      const t = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      return { name, dtype: t.dtype, shape: t.shape, dataOffsets: t.data_offsets };
    });
    const payload = signaturePayload(metadata, tensors);
    expect(payload.equals(example.signedPayload)).toBe(true);
    verifyPayload(payload, meta.get("__signature__")!, verifier.publicKey);
    expect(parsePolicy(meta.get("__policy__")!)).toEqual({
      local: DEFAULT_POLICY,
      remote: DEFAULT_POLICY,
    });
    const master = ring.findMaster(keys.enc.kid)!;
    for (const [name, entry] of parseEncryption(meta.get("__encryption__")!)) {
      const dek = unwrapDataKey("aes256gcm", master.key, entry);
      const t = tensors.find((x) => x.name === name)!;
      const ciphertext = example.file.subarray(
        8 + 1056 + t.dataOffsets[0],
        8 + 1056 + t.dataOffsets[1],
      );
      expect(
        decryptTensor("aes256gcm", dek, ciphertext, entry, keys.chunkSize).equals(
          example.tensors[name]!.data,
        ),
      ).toBe(true);
    }
  });
});
