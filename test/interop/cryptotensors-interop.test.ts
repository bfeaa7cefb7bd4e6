// Interop with the reference package (cryptotensors==0.2.3, real Rust core via Python), both
// directions: files it writes load in ours, files we write load in it — and tampering is refused.
import { expectCode } from "../support/expect-code.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  convertFile,
  inspectFile,
  loadFile,
  openFile,
  saveFile,
  type TensorInput,
} from "../../src/index.js";
import { buildWorkedExample } from "../fixtures/worked-example.js";
import { tempDir } from "../integration/helpers.js";
import {
  expectRefError,
  expectRefOk,
  makeRefKeys,
  masterKeyOf,
  refRead,
  refTensor,
  refWrite,
  signingKeyOf,
  type RefAlgorithm,
  type RefJwks,
  type RefTensor,
  type RefWriteConfig,
} from "./reference.js";

const dir = tempDir("ct-interop-");
let n = 0;
const nextPath = () => join(dir, `f${n++}.safetensors`);
const ALGORITHMS: RefAlgorithm[] = ["aes256gcm", "aes128gcm", "chacha20poly1305"];
const CHUNK = 64;

const bytes = (length: number, seed: number) =>
  Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff));

/** Empty tensors, scalars, one chunk exactly, one chunk and a byte, sizes that do not divide the chunk size. */
function sample(): Record<string, { dtype: string; shape: number[]; data: Buffer }> {
  return {
    empty: { dtype: "F32", shape: [0, 3], data: Buffer.alloc(0) },
    scalar: { dtype: "I64", shape: [], data: bytes(8, 1) },
    exact: { dtype: "U8", shape: [CHUNK], data: bytes(CHUNK, 2) },
    plusone: { dtype: "U8", shape: [CHUNK + 1], data: bytes(CHUNK + 1, 3) },
    odd: { dtype: "F16", shape: [7, 13], data: bytes(182, 4) },
    big: { dtype: "F32", shape: [1000], data: bytes(4000, 5) },
    brain: { dtype: "BF16", shape: [5], data: bytes(10, 6) },
  };
}

const asRef = (t: ReturnType<typeof sample>): Record<string, RefTensor> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, refTensor(v.dtype, v.shape, v.data)]));
const asOurs = (t: ReturnType<typeof sample>): Record<string, TensorInput> =>
  Object.fromEntries(
    Object.entries(t).map(([k, v]) => [
      k,
      { dtype: v.dtype as TensorInput["dtype"], shape: v.shape, data: v.data },
    ]),
  );

function refConfig(keys: RefJwks, extra: RefWriteConfig = {}): RefWriteConfig {
  return { enc_key: masterKeyOf(keys), sign_key: signingKeyOf(keys), ...extra };
}

const versions: Array<{ version: "1" | "2"; chunk?: number }> = [
  { version: "1" },
  { version: "2", chunk: CHUNK },
  { version: "2", chunk: 100 },
];

describe("reference writes → we read", () => {
  for (const alg of ALGORITHMS) {
    for (const { version, chunk } of versions) {
      it(`${alg} v${version}${chunk ? ` chunk ${chunk}` : ""}, both backends`, async () => {
        const keys = makeRefKeys({ alg });
        const path = nextPath();
        const tensors = sample();
        expectRefOk(
          await refWrite({
            path,
            tensors: asRef(tensors),
            metadata: { format: "pt", note: 'ünïcode "quoted"\n' },
            config: refConfig(keys, { version, ...(chunk ? { chunk_size: chunk } : {}) }),
          }),
        );
        for (const backend of ["native", "fallback"] as const) {
          const file = await openFile(path, { keys, backend });
          expect(file.metadata()).toEqual({ format: "pt", note: 'ünïcode "quoted"\n' });
          expect(file.encryption()).toMatchObject({
            version,
            algorithm: alg,
            chunkSize: version === "1" ? null : chunk,
          });
          for (const [name, t] of Object.entries(tensors)) {
            const got = await file.getTensor(name);
            expect(got.dtype).toBe(t.dtype);
            expect(got.shape).toEqual(t.shape);
            expect(Buffer.from(got.data).equals(t.data)).toBe(true);
          }
          if (version === "2") {
            const slice = await file.getSlice("odd", [[2, 5]]);
            expect(Buffer.from(slice.data).equals(tensors.odd!.data.subarray(2 * 26, 5 * 26))).toBe(
              true,
            );
          }
          await file.close();
        }
      });
    }
  }

  it("partial encryption and the default 2 MiB chunk", async () => {
    const keys = makeRefKeys();
    const path = nextPath();
    const tensors = sample();
    expectRefOk(
      await refWrite({
        path,
        tensors: asRef(tensors),
        config: refConfig(keys, { tensors: ["big", "empty"] }),
      }),
    );
    const file = await openFile(path, { keys });
    expect(file.encryption()).toMatchObject({
      chunkSize: 2 * 1024 * 1024,
      encryptedTensors: ["big", "empty"].sort(
        (a, b) => file.names().indexOf(a) - file.names().indexOf(b),
      ),
    });
    expect(file.info("odd").encrypted).toBe(false);
    const loaded = await loadFile(path, { keys });
    for (const [name, t] of Object.entries(tensors))
      expect(Buffer.from(loaded[name]!.data).equals(t.data)).toBe(true);
    await file.close();
  });

  it("keys from CRYPTOTENSOR_KEYS", async () => {
    const keys = makeRefKeys({ encKid: "e-env", signKid: "s-env" });
    const path = nextPath();
    expectRefOk(await refWrite({ path, tensors: asRef(sample()), config: refConfig(keys) }));
    const saved = process.env.CRYPTOTENSOR_KEYS;
    process.env.CRYPTOTENSOR_KEYS = JSON.stringify(keys);
    try {
      const loaded = await loadFile(path);
      expect(Buffer.from(loaded.big!.data).equals(sample().big!.data)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.CRYPTOTENSOR_KEYS;
      else process.env.CRYPTOTENSOR_KEYS = saved;
    }
  });

  it("the FORMAT.md §4.5 worked example loads in ours with its plaintext", async () => {
    const example = buildWorkedExample();
    const path = nextPath();
    writeFileSync(path, example.file);
    const loaded = await loadFile(path, { keys: example.keys });
    expect(Buffer.from(loaded.bias!.data).toString("hex")).toBe("0000803f000000c0");
    expect(Buffer.from(loaded.weight!.data).toString("hex")).toBe("003c004000420044");
    const ref = expectRefOk(await refRead({ path, keys: example.keys as unknown as RefJwks }));
    expect(ref.tensors.bias!.hex).toBe("0000803f000000c0");
  });
});

describe("we write → reference reads", () => {
  for (const alg of ALGORITHMS) {
    for (const { version, chunk } of versions) {
      it(`${alg} v${version}${chunk ? ` chunk ${chunk}` : ""}`, async () => {
        const keys = makeRefKeys({ alg });
        const path = nextPath();
        const tensors = sample();
        await saveFile(path, asOurs(tensors), {
          metadata: { format: "pt", ключ: "значение\t" },
          encryption: {
            encKey: keys.keys[0]!,
            signKey: keys.keys[1]!,
            version,
            ...(chunk ? { chunkSize: chunk } : {}),
          },
        });
        const ref = expectRefOk(await refRead({ path, keys }));
        expect(ref.metadata).toEqual({ format: "pt", ключ: "значение\t" });
        for (const [name, t] of Object.entries(tensors)) {
          expect(ref.tensors[name]).toEqual({
            dtype: t.dtype,
            shape: t.shape,
            hex: t.data.toString("hex"),
          });
        }
      });
    }
  }

  for (const chunk of [CHUNK, 100]) {
    it(`convertFile plain → v2 chunk ${chunk} (each batch read and sealed in one native job)`, async () => {
      const keys = makeRefKeys({});
      const tensors = sample();
      const plain = nextPath();
      await saveFile(plain, asOurs(tensors), { metadata: { format: "pt" } });
      const path = nextPath();
      await convertFile(plain, path, {
        encryption: { encKey: keys.keys[0]!, signKey: keys.keys[1]!, chunkSize: chunk },
        backend: "native",
      });
      const ref = expectRefOk(await refRead({ path, keys }));
      expect(ref.metadata).toEqual({ format: "pt" });
      for (const [name, t] of Object.entries(tensors)) {
        expect(ref.tensors[name]).toEqual({
          dtype: t.dtype,
          shape: t.shape,
          hex: t.data.toString("hex"),
        });
      }
    });
  }

  it("partial encryption, a filter matching nothing, custom policies, via the registry", async () => {
    const keys = makeRefKeys({ encKid: "k1", signKid: "s1" });
    const tensors = sample();
    const partial = nextPath();
    await saveFile(partial, asOurs(tensors), {
      encryption: { encKey: keys.keys[0]!, signKey: keys.keys[1]!, tensors: ["odd", "scalar"] },
    });
    const ref = expectRefOk(await refRead({ path: partial, keys, via: "registry" }));
    // Our plaintext-tensor digests (issue 11) are one more signed metadata entry: the reference
    // verifies the signature over it and reads every tensor.
    expect(Object.keys(ref.reserved).sort()).toEqual([
      "__crypto_keys__",
      "__encryption__",
      "__plaintext_sha256__",
      "__policy__",
      "__signature__",
    ]);
    expect(Object.keys(JSON.parse(ref.reserved.__encryption__!))).toEqual(["odd", "scalar"]);
    const plainNames = Object.keys(tensors).filter((n) => n !== "odd" && n !== "scalar");
    expect(Object.keys(JSON.parse(ref.reserved.__plaintext_sha256__!)).sort()).toEqual(
      [...plainNames].sort(),
    );
    for (const [name, t] of Object.entries(tensors))
      expect(ref.tensors[name]!.hex).toBe(t.data.toString("hex"));

    // A filter naming no tensor of the file is refused (the reference writes a plain file).
    await expectCode(
      saveFile(nextPath(), asOurs(tensors), {
        encryption: { encKey: keys.keys[0]!, signKey: keys.keys[1]!, tensors: ["nothing"] },
      }),
      "ERR_TENSOR_NOT_FOUND",
    );

    const denied = nextPath();
    await saveFile(denied, asOurs(tensors), {
      encryption: {
        encKey: keys.keys[0]!,
        signKey: keys.keys[1]!,
        policy: { local: "package model\n\ndefault allow := false\n" },
      },
    });
    expect(expectRefError(await refRead({ path: denied, keys })).message).toContain(
      "Policy evaluation denied",
    );
    await expectCode(openFile(denied, { keys }), "ERR_POLICY_DENIED");
  });

  it("two or more empty tensors at one offset verify in ours (§4.4) and hold their bytes", async () => {
    const keys = makeRefKeys();
    const path = nextPath();
    const tensors: Record<string, TensorInput> = {
      a: { dtype: "U8", shape: [0], data: new Uint8Array(0) },
      b: { dtype: "U8", shape: [0], data: new Uint8Array(0) },
      c: { dtype: "U8", shape: [0], data: new Uint8Array(0) },
      d: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    };
    await saveFile(path, tensors, {
      encryption: { encKey: keys.keys[0]!, signKey: keys.keys[1]! },
    });
    for (let i = 0; i < 3; i++)
      expect(Array.from((await loadFile(path, { keys })).d!.data)).toEqual([1, 2, 3]);
  });
});

describe("tampering with reference-written files is refused with the right error", () => {
  const keys = makeRefKeys();
  const tensors = sample();
  const original = async () => {
    const path = nextPath();
    expectRefOk(
      await refWrite({
        path,
        tensors: asRef(tensors),
        metadata: { licence: "A" },
        config: refConfig(keys, { chunk_size: CHUNK }),
      }),
    );
    return path;
  };

  it("flipped data bit → ERR_DECRYPTION_FAILED (both backends), never ciphertext", async () => {
    const path = await original();
    const file = readFileSync(path);
    const big = (await inspectFile(path)).tensors.find((t) => t.name === "big")!;
    file[8 + Number(file.readBigUInt64LE(0)) + big.dataOffsets[0] + 1000]! ^= 0x40;
    writeFileSync(path, file);
    for (const backend of ["native", "fallback"] as const) {
      const opened = await openFile(path, { keys, backend });
      await expectCode(opened.getTensor("big"), "ERR_DECRYPTION_FAILED");
      expect(Buffer.from((await opened.getTensor("odd")).data).equals(tensors.odd!.data)).toBe(
        true,
      );
      await opened.close();
    }
  });

  it("changed header field → ERR_SIGNATURE_INVALID", async () => {
    const path = await original();
    writeFileSync(
      path,
      Buffer.from(
        readFileSync(path).toString("latin1").replace('"licence":"A"', '"licence":"B"'),
        "latin1",
      ),
    );
    await expectCode(openFile(path, { keys }), "ERR_SIGNATURE_INVALID");
  });

  it("wrong master key → ERR_DECRYPTION_FAILED at open; wrong public key → ERR_SIGNATURE_INVALID", async () => {
    const path = await original();
    const other = makeRefKeys();
    await expectCode(
      openFile(path, { keys: [other.keys[0]!, keys.keys[1]!] }),
      "ERR_DECRYPTION_FAILED",
    );
    await expectCode(
      openFile(path, { keys: [keys.keys[0]!, other.keys[1]!] }),
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("truncation → ERR_METADATA_INCOMPLETE_BUFFER / ERR_INVALID_HEADER_LENGTH", async () => {
    const path = await original();
    const file = readFileSync(path);
    writeFileSync(path, file.subarray(0, file.length - 1));
    await expectCode(openFile(path, { keys }), "ERR_METADATA_INCOMPLETE_BUFFER");
    writeFileSync(path, file.subarray(0, 100));
    await expectCode(openFile(path, { keys }), "ERR_INVALID_HEADER_LENGTH");
  });
});
