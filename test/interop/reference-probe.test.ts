// Pins the behaviour of the real reference package (cryptotensors==0.2.3) that our reader and
// writer rely on. Nothing here touches our own TypeScript implementation: the reference talks to
// itself, to plain JSON parsing and to node:crypto decoding the bytes exactly as FORMAT.md says.
// Findings are written up in docs/reference-behaviour.md.
import { createDecipheriv, verify } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ed25519KeyObject,
  expectRefError,
  expectRefOk,
  makeRefKeys,
  masterKeyOf,
  REF_ALGORITHMS,
  type RefAlgorithm,
  type RefJwks,
  type RefTensor,
  type RefWriteConfig,
  refRead,
  refTensor,
  refWrite,
  signedPayload,
  signingKeyOf,
  splitFile,
} from "./reference.js";

let dir: string;
let fileCounter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ct-ref-probe-"));
});
const nextPath = (): string => join(dir, `f${fileCounter++}.safetensors`);

/** Deterministic bytes so failures print readable hex. */
const bytesOf = (length: number, seed = 1): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff));

/** Tensors that stress the layout: empty, scalar, odd sizes, several dtypes incl. raw-byte ones. */
const sampleTensors = (): Record<string, RefTensor> => ({
  empty: refTensor("F32", [0, 3], Buffer.alloc(0)),
  scalar: refTensor("I64", [], bytesOf(8, 3)),
  odd: refTensor("U8", [11], bytesOf(11, 5)),
  matrix: refTensor("F16", [3, 5], bytesOf(30, 9)),
  brain: refTensor("BF16", [4], bytesOf(8, 11)),
  fp8: refTensor("F8_E4M3", [5], bytesOf(5, 13)),
  flags: refTensor("BOOL", [3], Buffer.from([1, 0, 1])),
  wide: refTensor("C64", [2], bytesOf(16, 17)),
});

const encryptConfig = (keys: RefJwks, extra: RefWriteConfig = {}): RefWriteConfig => ({
  enc_key: masterKeyOf(keys),
  sign_key: signingKeyOf(keys),
  ...extra,
});

/** The public half of a set, as a reader would hold it. */
const readerKeys = (keys: RefJwks): RefJwks => ({
  keys: keys.keys.map(({ d: _secret, ...rest }) => rest),
});

const NODE_CIPHER: Record<RefAlgorithm, "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305"> = {
  aes128gcm: "aes-128-gcm",
  aes256gcm: "aes-256-gcm",
  chacha20poly1305: "chacha20-poly1305",
};

function aeadOpen(alg: RefAlgorithm, key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  // Empty AAD everywhere (FORMAT.md §3.1).
  const decipher = createDecipheriv(NODE_CIPHER[alg], key, iv, { authTagLength: 16 });
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** Decrypts a reference-written file with node:crypto following FORMAT.md §3 only. */
function decryptPerSpec(file: Buffer, masterKey: Buffer): Record<string, Buffer> {
  const { header, data } = splitFile(file);
  const meta = header.__metadata__ ?? {};
  const cryptoKeys = JSON.parse(meta.__crypto_keys__ ?? "{}") as { enc: { alg: string }; chunk_size?: number };
  const alg = cryptoKeys.enc.alg.replaceAll("-", "").toLowerCase() as RefAlgorithm;
  const entries = JSON.parse(meta.__encryption__ ?? "{}") as Record<string, Record<string, string>>;
  const b = (field: string | undefined): Buffer => Buffer.from(field ?? "", "base64");
  const out: Record<string, Buffer> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const info = header[name] as { data_offsets: [number, number] };
    const ciphertext = data.subarray(info.data_offsets[0], info.data_offsets[1]);
    const dek = aeadOpen(alg, masterKey, b(entry.key_iv), b(entry.wrapped_key), b(entry.key_tag));
    if (cryptoKeys.chunk_size === undefined) {
      out[name] = ciphertext.length === 0 ? Buffer.alloc(0) : aeadOpen(alg, dek, b(entry.iv), ciphertext, b(entry.tag));
      continue;
    }
    const cs = cryptoKeys.chunk_size;
    const baseIv = b(entry.base_iv);
    const tags = b(entry.tags);
    const chunks = Math.max(1, Math.ceil(ciphertext.length / cs));
    const parts: Buffer[] = [];
    for (let i = 0; i < chunks; i++) {
      const iv = Buffer.from(baseIv);
      iv.writeUInt32BE(baseIv.readUInt32BE(8) + i, 8);
      parts.push(aeadOpen(alg, dek, iv, ciphertext.subarray(i * cs, (i + 1) * cs), tags.subarray(16 * i, 16 * i + 16)));
    }
    out[name] = Buffer.concat(parts);
  }
  return out;
}

describe("reference round trips with itself", () => {
  for (const version of ["1", "2"] as const) {
    for (const alg of Object.keys(REF_ALGORITHMS) as RefAlgorithm[]) {
      it(`v${version} ${alg}: every tensor, metadata and the spec decoding agree`, () => {
        const keys = makeRefKeys({ alg });
        const path = nextPath();
        const tensors = sampleTensors();
        // chunk_size 4 divides none of 11, 30 and 5 bytes; 8 is exactly two chunks.
        const config = encryptConfig(keys, { version, ...(version === "2" ? { chunk_size: 4 } : {}) });
        expectRefOk(refWrite({ path, tensors, metadata: { format: "np", note: "é/\"" }, config }));
        const read = expectRefOk(refRead({ path, keys: readerKeys(keys) }));
        expect(read.metadata).toEqual({ format: "np", note: "é/\"" });
        for (const [name, tensor] of Object.entries(tensors)) expect(read.tensors[name]).toEqual(tensor);
        const plain = decryptPerSpec(readFileSync(path), Buffer.from(masterKeyOf(keys).k ?? "", "base64"));
        for (const [name, tensor] of Object.entries(tensors)) expect(plain[name]?.toString("hex")).toBe(tensor.hex);
      });
    }
  }

  it("a tensor of exactly one chunk and one of one byte more", () => {
    const keys = makeRefKeys();
    const path = nextPath();
    const tensors = { one: refTensor("U8", [64], bytesOf(64)), more: refTensor("U8", [65], bytesOf(65, 2)) };
    expectRefOk(refWrite({ path, tensors, config: encryptConfig(keys, { chunk_size: 64 }) }));
    const entries = JSON.parse(splitFile(readFileSync(path)).header.__metadata__?.__encryption__ ?? "{}");
    expect(Buffer.from(entries.one.tags, "base64").length).toBe(16);
    expect(Buffer.from(entries.more.tags, "base64").length).toBe(32);
    expect(expectRefOk(refRead({ path, keys })).tensors).toEqual(tensors);
  });

  it("reads through the registry and through CRYPTOTENSOR_KEYS, selecting by the header's kid", () => {
    const keys = makeRefKeys({ encKid: "wanted-enc", signKid: "wanted-sign" });
    const decoys = makeRefKeys({ encKid: "decoy-enc", signKid: "decoy-sign" });
    const path = nextPath();
    const tensors = { w: refTensor("F32", [2], bytesOf(8)) };
    expectRefOk(refWrite({ path, tensors, config: encryptConfig(keys) }));
    const both = { keys: [...readerKeys(decoys).keys, ...readerKeys(keys).keys] };
    expect(expectRefOk(refRead({ path, keys: both, via: "registry" })).tensors).toEqual(tensors);
    expect(expectRefOk(refRead({ path, keys: both, via: "env" })).tensors).toEqual(tensors);
    expect(expectRefError(refRead({ path, via: "none" })).message).toBe(
      'Error parsing CryptoTensors: Registry("No suitable provider found for master key")',
    );
  });

  it("partial encryption leaves unselected tensors as plaintext bytes; a filter matching nothing writes a plain file", () => {
    const keys = makeRefKeys();
    const tensors = { a: refTensor("U8", [3], bytesOf(3)), b: refTensor("U8", [4], bytesOf(4, 9)) };
    const partial = nextPath();
    expectRefOk(refWrite({ path: partial, tensors, config: encryptConfig(keys, { tensors: ["b", "nope"] }) }));
    const split = splitFile(readFileSync(partial));
    expect(Object.keys(JSON.parse(split.header.__metadata__?.__encryption__ ?? "{}"))).toEqual(["b"]);
    const a = split.header.a as { data_offsets: [number, number] };
    expect(split.data.subarray(...a.data_offsets).toString("hex")).toBe(tensors.a.hex);
    expect(expectRefOk(refRead({ path: partial, keys })).tensors).toEqual(tensors);

    const none = nextPath();
    expectRefOk(refWrite({ path: none, tensors, metadata: { m: "1" }, config: encryptConfig(keys, { tensors: ["nope"] }) }));
    expect(splitFile(readFileSync(none)).header.__metadata__).toEqual({ m: "1" });
    expect(expectRefOk(refRead({ path: none, via: "none" })).tensors).toEqual(tensors);
  });

  it("get_slice on a chunked tensor returns the requested rows", () => {
    const keys = makeRefKeys();
    const path = nextPath();
    const data = bytesOf(24);
    expectRefOk(refWrite({ path, tensors: { m: refTensor("U16", [3, 4], data) }, config: encryptConfig(keys, { chunk_size: 5 }) }));
    const read = expectRefOk(refRead({ path, keys, slice: { name: "m", ranges: [[1, 3]] } }));
    expect(read.slice).toEqual({ shape: [2, 4], hex: data.subarray(8, 24).toString("hex") });
  });
});

describe("header bytes the reference writes", () => {
  const writeOne = (version: "1" | "2", extra: RefWriteConfig = {}) => {
    const keys = makeRefKeys({ alg: "aes128gcm", encKid: "e-kid", signKid: "s-kid" });
    const path = nextPath();
    const tensors = { z: refTensor("U8", [0], Buffer.alloc(0)), b: refTensor("F32", [3], bytesOf(12)), a: refTensor("F32", [1], bytesOf(4)) };
    expectRefOk(refWrite({ path, tensors, metadata: { zeta: "1", alpha: "2" }, config: encryptConfig(keys, { version, ...extra }) }));
    return { keys, file: readFileSync(path), tensors };
  };

  it("pads with spaces to 8, sorts metadata, orders tensors by offset and keeps ciphertext length", () => {
    const { file, tensors } = writeOne("2");
    const split = splitFile(file);
    expect(split.headerLength % 8).toBe(0);
    expect(split.headerText).toMatch(/^\{"__metadata__":\{"__crypto_keys__":.*\} {0,7}$/s);
    expect(split.headerText.trimEnd().length).toBeGreaterThan(split.headerLength - 8);
    expect(Object.keys(split.header.__metadata__ ?? {})).toEqual([
      "__crypto_keys__", "__encryption__", "__policy__", "__signature__", "alpha", "zeta",
    ]);
    // F32 outranks U8; names ascending within a dtype (FORMAT.md §1.4).
    expect(Object.keys(split.header).slice(1)).toEqual(["a", "b", "z"]);
    expect(split.data.length).toBe(16);
    expect(split.header.a).toEqual({ dtype: "F32", shape: [1], data_offsets: [0, 4] });
    expect(split.data.subarray(4, 16).toString("hex")).not.toBe(tensors.b.hex);
  });

  it("__crypto_keys__ is sorted at every level; v1 has no chunk_size", () => {
    expect(splitFile(writeOne("2").file).header.__metadata__?.__crypto_keys__).toBe(
      '{"chunk_size":2097152,"enc":{"alg":"aes128gcm","kid":"e-kid","kty":"oct"},"sign":{"alg":"ed25519","kid":"s-kid","kty":"okp"},"version":"2"}',
    );
    expect(splitFile(writeOne("1").file).header.__metadata__?.__crypto_keys__).toBe(
      '{"enc":{"alg":"aes128gcm","kid":"e-kid","kty":"oct"},"sign":{"alg":"ed25519","kid":"s-kid","kty":"okp"},"version":"1"}',
    );
  });

  it("__encryption__ field order, no enc_algo, base64 lengths, empty-tensor encodings", () => {
    const v1 = JSON.parse(splitFile(writeOne("1").file).header.__metadata__?.__encryption__ ?? "{}");
    const v2 = JSON.parse(splitFile(writeOne("2").file).header.__metadata__?.__encryption__ ?? "{}");
    expect(Object.keys(v1)).toEqual(["a", "b", "z"]);
    expect(Object.keys(v1.b)).toEqual(["wrapped_key", "key_iv", "key_tag", "iv", "tag"]);
    expect(Object.keys(v2.b)).toEqual(["wrapped_key", "key_iv", "key_tag", "base_iv", "tags"]);
    // aes128gcm: a 16-byte DEK wraps to 16 bytes (24 chars); IVs 12 bytes (16 chars); tags 16 (24).
    expect([v1.b.wrapped_key.length, v1.b.key_iv.length, v1.b.key_tag.length, v1.b.iv.length, v1.b.tag.length]).toEqual([24, 16, 24, 16, 24]);
    expect([v1.z.iv, v1.z.tag]).toEqual(["", ""]);
    expect([v2.z.base_iv.length, Buffer.from(v2.z.tags, "base64").length]).toEqual([16, 16]);
  });

  it("the default policy text and an 88-character signature over the FORMAT.md §4.1 bytes", () => {
    const { keys, file } = writeOne("2", { policy: { remote: "package model\nallow = false" } });
    const { header } = splitFile(file);
    expect(header.__metadata__?.__policy__).toBe('{"local":"package model\\nallow = true","remote":"package model\\nallow = false"}');
    const signature = header.__metadata__?.__signature__ ?? "";
    expect(signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const publicKey = ed25519KeyObject(signingKeyOf(keys), "public");
    expect(verify(null, signedPayload(header), publicKey, Buffer.from(signature, "base64"))).toBe(true);
  });

  it("keeps a dashed algorithm name verbatim and reads it back", () => {
    const keys = makeRefKeys();
    const master = { ...masterKeyOf(keys), alg: "AES-256-GCM" };
    const path = nextPath();
    const tensors = { w: refTensor("U8", [2], bytesOf(2)) };
    expectRefOk(refWrite({ path, tensors, config: { enc_key: master, sign_key: signingKeyOf(keys) } }));
    expect(splitFile(readFileSync(path)).header.__metadata__?.__crypto_keys__).toContain('"alg":"AES-256-GCM"');
    expect(expectRefOk(refRead({ path, keys: { keys: [master, signingKeyOf(keys)] } })).tensors).toEqual(tensors);
  });
});
