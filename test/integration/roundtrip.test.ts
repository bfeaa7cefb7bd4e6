// End-to-end: saveFile → openFile/loadFile, plain and encrypted, with both byte backends.
import { expectCode } from "../support/expect-code.js";
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  convertFile,
  generateKeySet,
  loadFile,
  openFile,
  saveFile,
  verifyFile,
  type TensorInput,
} from "../../src/index.js";
import { randomTensor, tempDir } from "./helpers.js";

const dir = tempDir();
let counter = 0;
const path = (name = "f") => join(dir, `${name}-${counter++}.safetensors`);
const BACKENDS = ["native", "fallback"] as const;
const ALGORITHMS = ["aes256gcm", "aes128gcm", "chacha20poly1305"] as const;

function keysFor(alg: (typeof ALGORITHMS)[number] = "aes256gcm") {
  const set = generateKeySet({ alg, encKid: "enc-1", signKid: "sign-1" });
  return { set, encKey: set.keys[0], signKey: set.keys[1] };
}

describe.each(BACKENDS)("round trips with the %s backend", (backend) => {
  it("plain files: metadata, scalars, empty tensors", async () => {
    const p = path();
    const tensors: Record<string, TensorInput> = {
      weight: randomTensor(64, "F32"),
      scalar: { dtype: "F64", shape: [], data: new Float64Array([3.5]) },
      empty: { dtype: "I64", shape: [0, 4], data: new Uint8Array(0) },
    };
    await saveFile(p, tensors, { metadata: { format: "pt", ünï: "ç\n" } });
    const file = await openFile(p, { backend });
    expect(file.backend).toBe(backend);
    expect(file.names().sort()).toEqual(["empty", "scalar", "weight"]);
    expect(file.metadata()).toEqual({ format: "pt", ünï: "ç\n" });
    expect(file.encryption()).toBeNull();
    for (const [name, t] of Object.entries(tensors)) {
      const got = await file.getTensor(name);
      expect(got.shape).toEqual(t.shape);
      expect(
        Buffer.from(got.data).equals(
          Buffer.from(
            (t.data as ArrayBufferView).buffer,
            (t.data as ArrayBufferView).byteOffset,
            (t.data as ArrayBufferView).byteLength,
          ),
        ),
      ).toBe(true);
    }
    await file.close();
  });

  it.each(ALGORITHMS)(
    "encrypted %s, v1 and v2, chunk sizes that do not divide the data",
    async (alg) => {
      const { set, encKey, signKey } = keysFor(alg);
      for (const [version, chunkSize] of [
        ["1", undefined],
        ["2", 7],
        ["2", 64],
        ["2", undefined],
      ] as const) {
        const p = path();
        const tensors = {
          a: randomTensor(100),
          b: randomTensor(64, "F32"),
          z: { dtype: "U8" as const, shape: [0], data: new Uint8Array(0) },
        };
        await saveFile(p, tensors, {
          metadata: { note: "x" },
          encryption: { encKey, signKey, version, ...(chunkSize ? { chunkSize } : {}) },
        });
        const loaded = await loadFile(p, { keys: set, backend });
        for (const [name, t] of Object.entries(tensors))
          expect(Buffer.from(loaded[name]!.data)).toEqual(Buffer.from(t.data));
        const file = await openFile(p, { keys: set, backend });
        expect(file.encryption()).toMatchObject({
          version,
          algorithm: alg,
          encKeyId: "enc-1",
          signKeyId: "sign-1",
        });
        expect(file.info("a").encrypted).toBe(true);
        expect(file.metadata()).toEqual({ note: "x" });
        await file.close();
      }
    },
  );

  it("decrypts into a caller-supplied buffer and one shared destination", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    const a = randomTensor(1000);
    const b = randomTensor(24);
    await saveFile(p, { a, b }, { encryption: { encKey, signKey, chunkSize: 128 } });
    const file = await openFile(p, { keys: set, backend });
    const arena = new ArrayBuffer(2048);
    const ta = await file.getTensor("a", { into: new Uint8Array(arena, 0, 1000) });
    const tb = await file.getTensor("b", { into: new Uint8Array(arena, 1024, 24) });
    expect(ta.data.buffer).toBe(arena);
    expect(Buffer.from(new Uint8Array(arena, 0, 1000))).toEqual(Buffer.from(a.data));
    expect(Buffer.from(tb.data)).toEqual(Buffer.from(b.data));
    await expect(file.getTensor("a", { into: new Uint8Array(10) })).rejects.toThrow(RangeError);
    await file.close();
  });

  it("slices decrypt the right bytes (v1 and v2, rows and columns)", async () => {
    const { set, encKey, signKey } = keysFor();
    for (const version of ["1", "2"] as const) {
      const p = path();
      const data = new Uint8Array(20 * 12).map((_, i) => i % 251);
      await saveFile(
        p,
        { m: { dtype: "U8", shape: [20, 12], data } },
        { encryption: { encKey, signKey, version, ...(version === "2" ? { chunkSize: 16 } : {}) } },
      );
      const file = await openFile(p, { keys: set, backend });
      const rows = await file.getSlice("m", [[3, 7]]);
      expect(rows.shape).toEqual([4, 12]);
      expect(Buffer.from(rows.data)).toEqual(Buffer.from(data.subarray(36, 84)));
      const cols = await file.getSlice("m", [
        [0, 20],
        [2, 4],
      ]);
      expect(cols.shape).toEqual([20, 2]);
      expect(Array.from(cols.data)).toEqual(
        Array.from({ length: 20 }, (_, r) => [data[r * 12 + 2], data[r * 12 + 3]]).flat(),
      );
      await file.close();
    }
  });

  it("partial encryption leaves unselected tensors plain; a filter naming a missing tensor or nothing is refused", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    const t = { secret: randomTensor(32), open: randomTensor(32) };
    await expectCode(
      saveFile(p, t, { encryption: { encKey, signKey, tensors: ["secret", "missing"] } }),
      "ERR_TENSOR_NOT_FOUND",
    );
    await expectCode(
      saveFile(p, t, { encryption: { encKey, signKey, tensors: [] } }),
      "ERR_NOTHING_TO_ENCRYPT",
    );
    await saveFile(p, t, { encryption: { encKey, signKey, tensors: ["secret"] } });
    const file = await openFile(p, { keys: set, backend });
    expect(file.info("secret").encrypted).toBe(true);
    expect(file.info("open").encrypted).toBe(false);
    expect(Buffer.from((await file.getTensor("open")).data)).toEqual(Buffer.from(t.open.data));
    expect(Buffer.from((await file.getTensor("secret")).data)).toEqual(Buffer.from(t.secret.data));
    await file.close();
  });
});

describe("refusals", () => {
  it("wrong master key fails at open; wrong public key fails the signature", async () => {
    const { encKey, signKey } = keysFor();
    const other = keysFor();
    const p = path();
    await saveFile(p, { a: randomTensor(16) }, { encryption: { encKey, signKey } });
    await expectCode(openFile(p, { keys: [other.encKey, signKey] }), "ERR_DECRYPTION_FAILED");
    await expectCode(openFile(p, { keys: [encKey, other.signKey] }), "ERR_SIGNATURE_INVALID");
    await expectCode(
      openFile(p, { keys: [{ ...other.encKey, kid: "nope" }, signKey] }),
      "ERR_KEY_NOT_FOUND",
    );
  });

  it("a flipped ciphertext bit is ERR_DECRYPTION_FAILED, never ciphertext, with both backends", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    await saveFile(
      p,
      { a: randomTensor(4096) },
      { encryption: { encKey, signKey, chunkSize: 1024 } },
    );
    const bytes = readFileSync(p);
    bytes[bytes.length - 10]! ^= 1;
    writeFileSync(p, bytes);
    for (const backend of BACKENDS) {
      const file = await openFile(p, { keys: set, backend });
      const into = new Uint8Array(4096).fill(7);
      await expectCode(file.getTensor("a", { into }), "ERR_DECRYPTION_FAILED");
      expect(into.some((b) => b !== 0 && b !== 7)).toBe(false);
      // The untouched first chunk still decrypts on its own.
      expect((await file.getSlice("a", [[0, 1024]])).data.length).toBe(1024);
      await file.close();
    }
  });

  it("a changed header field breaks the signature; a truncated file is refused", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    await saveFile(
      p,
      { a: randomTensor(16) },
      { metadata: { licence: "A" }, encryption: { encKey, signKey } },
    );
    const bytes = readFileSync(p);
    const tampered = Buffer.from(
      bytes.toString("latin1").replace('"licence":"A"', '"licence":"B"'),
      "latin1",
    );
    const q = path();
    writeFileSync(q, tampered);
    await expectCode(openFile(q, { keys: set }), "ERR_SIGNATURE_INVALID");
    writeFileSync(q, bytes.subarray(0, bytes.length - 1));
    await expectCode(openFile(q, { keys: set }), "ERR_METADATA_INCOMPLETE_BUFFER");
  });

  it("requireEncrypted refuses plain files; verifyFile needs only the public key", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    await saveFile(p, { a: randomTensor(8) });
    await expectCode(openFile(p, { requireEncrypted: true }), "ERR_NOT_ENCRYPTED");
    const q = path();
    await saveFile(q, { a: randomTensor(8) }, { encryption: { encKey, signKey } });
    const publicOnly = { ...signKey, d: undefined };
    await expect(verifyFile(q, { keys: [publicOnly] })).resolves.toMatchObject({
      signatureValid: true,
    });
    expect(set.keys).toHaveLength(2);
  });

  it("a failed write leaves nothing behind and does not touch an existing file", async () => {
    const p = path("keep");
    await saveFile(p, { a: randomTensor(8) });
    const before = readFileSync(p);
    await expect(
      saveFile(p, { a: { dtype: "F32", shape: [3], data: new Uint8Array(5) } }),
    ).rejects.toMatchObject({ code: "ERR_INVALID_TENSOR" });
    const controller = new AbortController();
    controller.abort();
    await expectCode(
      saveFile(p, { a: randomTensor(8) }, { signal: controller.signal }),
      "ERR_ABORTED",
    );
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a save whose encryption plan fails removes the temporary file created meanwhile", async () => {
    // The plan is built while the temporary file is created: its error wins, nothing is left.
    const { encKey } = keysFor();
    const p = path("badkey");
    const encryption = { encKey, signKey: encKey };
    await expectCode(saveFile(p, { a: randomTensor(8) }, { encryption }), "ERR_KEY_INVALID");
    expect(existsSync(p)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // Even where the file cannot be created at all, the argument error is the one reported.
    const nowhere = join(dir, "no-such-dir", "x.safetensors");
    await expectCode(saveFile(nowhere, { a: randomTensor(8) }, { encryption }), "ERR_KEY_INVALID");
  });

  it("closing waits for reads in flight; reads after close are refused", async () => {
    const { set, encKey, signKey } = keysFor();
    const p = path();
    await saveFile(
      p,
      { a: randomTensor(1 << 20) },
      { encryption: { encKey, signKey, chunkSize: 4096 } },
    );
    const file = await openFile(p, { keys: set });
    const reads = Array.from({ length: 20 }, () => file.getTensor("a"));
    await file.close();
    for (const r of await Promise.all(reads)) expect(r.data.length).toBe(1 << 20);
    await expectCode(
      Promise.resolve().then(() => file.getTensor("a")),
      "ERR_CLOSED",
    );
  });
});

describe("convertFile", () => {
  it("encrypt → decrypt reproduces the plain file byte for byte", async () => {
    const { set, encKey, signKey } = keysFor();
    const plain = path("plain");
    await saveFile(
      plain,
      { w: randomTensor(5000, "F32"), b: randomTensor(12, "F16") },
      { metadata: { format: "pt" } },
    );
    const sealed = path("sealed");
    await convertFile(plain, sealed, { encryption: { encKey, signKey, chunkSize: 1000 } });
    const back = path("back");
    await convertFile(sealed, back, { input: { keys: set } });
    expect(readFileSync(back).equals(readFileSync(plain))).toBe(true);
    expect(existsSync(sealed)).toBe(true);
  });
});

describe("property: random tensors round-trip through encryption", () => {
  it("any dtype/shape/chunk size", async () => {
    const { set, encKey, signKey } = keysFor();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 300 })),
          { minLength: 1, maxLength: 5 },
        ),
        fc.integer({ min: 1, max: 97 }),
        fc.constantFrom("1", "2"),
        async (specs, chunkSize, version) => {
          const tensors: Record<string, TensorInput> = {};
          for (const [name, length] of specs)
            if (name !== "__metadata__") tensors[name] = randomTensor(length);
          const p = path("prop");
          await saveFile(p, tensors, {
            encryption: { encKey, signKey, version, ...(version === "2" ? { chunkSize } : {}) },
          });
          const loaded = await loadFile(p, { keys: set });
          expect(Object.keys(loaded).sort()).toEqual(Object.keys(tensors).sort());
          for (const [name, t] of Object.entries(tensors))
            expect(Buffer.from(loaded[name]!.data)).toEqual(Buffer.from(t.data as Uint8Array));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("progress and cancellation inside one large tensor", () => {
  it("reports monotonic progress within a tensor and stops cleanly when aborted mid-tensor", async () => {
    const { encKey, signKey } = keysFor();
    const big = { w: randomTensor(20 << 20) };
    for (const encryption of [undefined, { encKey, signKey, version: "1" as const }]) {
      const seen: number[] = [];
      const p = path("progress");
      await saveFile(p, big, {
        ...(encryption ? { encryption } : {}),
        onProgress: (e) => seen.push(e.bytesDone),
      });
      expect(seen.length).toBeGreaterThan(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.at(-1)).toBe(20 << 20);

      const controller = new AbortController();
      const q = path("aborted");
      await expectCode(
        saveFile(q, big, {
          ...(encryption ? { encryption } : {}),
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }),
        "ERR_ABORTED",
      );
      expect(existsSync(q)).toBe(false);
    }
  });
});
