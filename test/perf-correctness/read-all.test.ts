// Correctness of the fast whole-model paths (never their speed): TensorFile.readAll into fresh
// buffers and into one caller arena, loadFile built on it, progress, abort, failure wiping, the
// batching of v2 tensors larger than one backend call, and the parallel native sealing of the
// writer — on both byte backends and both AES-GCM engines.
import { afterAll, describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  generateKeySet,
  loadFile,
  openFile,
  saveFile,
  type TensorInput,
} from "../../src/index.js";
import { nativeInfo, setAesEngine } from "../../src/native/index.js";
import type { PlanItem } from "../../src/native/backend.js";
import {
  ARENA_ALIGNMENT,
  BATCH_BYTES,
  type LoadStep,
  runSteps,
} from "../../src/reader/read-all.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";

const dir = tempDir("ct-readall-");
const initialEngine = nativeInfo().aesGcmEngine;
afterAll(() => setAesEngine(initialEngine));
let n = 0;
const next = () => join(dir, `m${n++}.safetensors`);

function model(): Record<string, TensorInput & { data: Uint8Array }> {
  return {
    embed: randomTensor(3 * 1024 * 1024 + 5),
    "layers.0.norm": randomTensor(6, "F16"),
    "layers.0.proj": randomTensor(1 << 20),
    empty: { dtype: "F32", shape: [0], data: new Uint8Array(0) },
    tail: randomTensor(17),
  };
}

async function writeModel(version: "1" | "2", encrypted = true) {
  const keys = generateKeySet({ alg: "aes256gcm" });
  const tensors = model();
  const path = next();
  await saveFile(
    path,
    tensors,
    encrypted
      ? {
          encryption: {
            encKey: keys.keys[0],
            signKey: keys.keys[1],
            version,
            ...(version === "2" ? { chunkSize: 64 * 1024 } : {}),
          },
        }
      : {},
  );
  return { path, keys, tensors };
}

const ENGINES = nativeInfo().aesGcmEngines;

describe.each(["native", "fallback"] as const)("readAll with the %s backend", (backend) => {
  it.each(["1", "2"] as const)(
    "v%s: fresh buffers and one 64-byte aligned arena give the stored bytes",
    async (version) => {
      const { path, keys, tensors } = await writeModel(version);
      for (const engine of ENGINES) {
        setAesEngine(engine);
        const file = await openFile(path, { keys, backend });
        try {
          const fresh = await file.readAll();
          const arena = new ArrayBuffer(file.readAllByteLength() + 10);
          const packed = await file.readAll({ into: arena });
          for (const [name, tensor] of Object.entries(tensors)) {
            expect(Buffer.from(fresh[name]!.data).equals(Buffer.from(tensor.data))).toBe(true);
            expect(Buffer.from(packed[name]!.data).equals(Buffer.from(tensor.data))).toBe(true);
            expect(packed[name]!.data.buffer).toBe(arena);
            expect(packed[name]!.data.byteOffset % ARENA_ALIGNMENT).toBe(0);
            expect(packed[name]!.shape).toEqual([...tensor.shape]);
          }
          await expect(
            file.readAll({ into: new ArrayBuffer(file.readAllByteLength() - 1) }),
          ).rejects.toThrow(RangeError);
        } finally {
          await file.close();
        }
      }
    },
  );

  it("reports progress per tensor in file order, and an abort from a callback stops before the next tensor", async () => {
    const { path, keys } = await writeModel("2");
    const seen: Array<{ tensor: string; bytesDone: number; bytesTotal: number }> = [];
    const file = await openFile(path, { keys, backend });
    try {
      await file.readAll({ onProgress: (p) => seen.push(p) });
      expect(seen.map((p) => p.tensor)).toEqual(file.names());
      expect(seen.at(-1)!.bytesDone).toBe(seen.at(-1)!.bytesTotal);
      const controller = new AbortController();
      const arena = new Uint8Array(file.readAllByteLength());
      let calls = 0;
      const loading = file.readAll({
        into: arena,
        signal: controller.signal,
        onProgress: () => {
          calls++;
          controller.abort();
        },
      });
      await expect(loading).rejects.toSatisfy(
        (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_ABORTED",
      );
      expect(calls).toBe(1);
      expect(arena.every((b) => b === 0)).toBe(true); // decrypted bytes were wiped
    } finally {
      await file.close();
    }
  });

  it("a tampered chunk fails the load with ERR_DECRYPTION_FAILED naming the tensor, and wipes the arena", async () => {
    const { path, keys } = await writeModel("2");
    const bytes = readFileSync(path);
    bytes[bytes.length - 100]! ^= 1; // inside the last non-tiny tensor of the data section
    const tampered = next();
    writeFileSync(tampered, bytes);
    const file = await openFile(tampered, { keys, backend });
    try {
      const arena = new Uint8Array(file.readAllByteLength());
      await expect(file.readAll({ into: arena })).rejects.toSatisfy(
        (e: unknown) =>
          e instanceof CryptoTensorsError &&
          e.code === "ERR_DECRYPTION_FAILED" &&
          /^"[^"]+": decryption failed/.test(e.message),
      );
      expect(arena.every((b) => b === 0)).toBe(true);
    } finally {
      await file.close();
    }
  });

  it("loadFile returns what getTensor returns, for plain and encrypted files", async () => {
    for (const encrypted of [false, true]) {
      const { path, keys, tensors } = await writeModel("2", encrypted);
      const loaded = await loadFile(path, { keys, backend });
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, tensor] of Object.entries(tensors))
        expect(Buffer.from(loaded[name]!.data).equals(Buffer.from(tensor.data))).toBe(true);
    }
  });
});

describe("v2 tensors larger than one backend call", () => {
  it(`are split across batches of ${BATCH_BYTES >> 20} MiB and still decrypt exactly (both engines)`, async () => {
    const keys = generateKeySet({ alg: "aes128gcm" });
    const big = randomTensor(BATCH_BYTES + 3 * (1 << 20) + 11);
    const path = next();
    await saveFile(
      path,
      { big, small: randomTensor(5) },
      { encryption: { encKey: keys.keys[0], signKey: keys.keys[1] } },
    );
    for (const engine of ENGINES) {
      setAesEngine(engine);
      const progress: number[] = [];
      const loaded = await loadFile(path, { keys, onProgress: (p) => progress.push(p.bytesDone) });
      expect(Buffer.from(loaded["big"]!.data).equals(Buffer.from(big.data))).toBe(true);
      expect(progress).toEqual([big.data.length, big.data.length + 5]);
      // Nobody watching: the native file runs the whole load as one plan.
      const whole = await loadFile(path, { keys });
      expect(Buffer.from(whole["big"]!.data).equals(Buffer.from(big.data))).toBe(true);
      expect(Buffer.from(whole["small"]!.data).equals(Buffer.from(loaded["small"]!.data))).toBe(
        true,
      );
    }
  });

  it("runSteps makes one call per batch, or a single call with batchBytes Infinity", async () => {
    const dest = new Uint8Array(0);
    const steps: LoadStep[] = Array.from({ length: 5 }, (_, i) => ({
      name: `t${i}`,
      byteLength: 40 << 20,
      items: [{ kind: "read", offset: 0, length: 40 << 20, dest }],
    }));
    const calls: number[] = [];
    const run = async (items: PlanItem[]) => {
      calls.push(items.length);
    };
    await runSteps(steps, run, { path: "p" });
    expect(calls).toEqual([2, 2, 1]);
    calls.length = 0;
    const progress: number[] = [];
    await runSteps(steps, run, {
      path: "p",
      batchBytes: Number.POSITIVE_INFINITY,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(calls).toEqual([5]);
    expect(progress).toEqual([1, 2, 3, 4, 5].map((k) => k * (40 << 20)));
  });
});
