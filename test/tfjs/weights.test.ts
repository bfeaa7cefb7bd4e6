// toTfjsWeights against the pure-JS TensorFlow.js CPU backend: an encrypted Layers model predicts
// bit for bit like the original on both byte backends; half floats widen exactly (tfjs's own
// float16 dequantizer is the oracle over all 65,536 patterns); lossy conversions are refused.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  generateKeys,
  openFile,
  saveFile,
  type TensorInput,
} from "../../src/index.js";
import { halfToFloat, toTfjsWeights } from "../../src/tfjs/index.js";
import { tempDir } from "../integration/helpers.js";

const dir = tempDir("ct-tfjs-");
const keys = generateKeys();
const [encKey, signKey] = keys.keys;
const encryption = { encKey, signKey };

beforeAll(async () => {
  await tf.setBackend("cpu");
});

function bitsOf(values: ArrayLike<number>): Buffer {
  return Buffer.from(Float32Array.from(values).buffer);
}

describe("toTfjsWeights", () => {
  it("an encrypted Layers model predicts exactly like the original (native and fallback)", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, inputShape: [8], activation: "relu", name: "hidden" }),
        tf.layers.dense({ units: 3, name: "out" }),
      ],
    });
    const tensors: Record<string, TensorInput> = {};
    for (const weight of model.weights) {
      const values = weight.read().dataSync() as Float32Array;
      tensors[weight.originalName] = {
        dtype: "F32",
        shape: weight.shape as number[],
        data: values,
      };
    }
    const path = `${dir}/layers.safetensors`;
    await saveFile(path, tensors, { encryption });
    const input = tf.tensor2d(
      Array.from({ length: 5 * 8 }, (_, i) => Math.sin(i)),
      [5, 8],
    );
    const expected = bitsOf((model.predict(input) as tf.Tensor).dataSync());
    const modelTopology = model.toJSON(null, false) as object;

    for (const backend of ["native", "fallback"] as const) {
      const file = await openFile(path, { keys, backend });
      const { weightSpecs, weightData } = await toTfjsWeights(file);
      await file.close();
      expect(weightSpecs.map((s) => s.dtype)).toEqual(["float32", "float32", "float32", "float32"]);
      const loaded = await tf.loadLayersModel(
        tf.io.fromMemory({ modelTopology, weightSpecs, weightData }),
      );
      new Uint8Array(weightData).fill(0);
      expect(bitsOf((loaded.predict(input) as tf.Tensor).dataSync())).toEqual(expected);
    }
  });

  it("widens every float16 pattern exactly as tfjs's own float16 dequantizer does", async () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const path = `${dir}/f16.safetensors`;
    await saveFile(
      path,
      {
        h: { dtype: "F16", shape: [65536], data: all },
        b: { dtype: "BF16", shape: [4], data: Uint16Array.from([0x3f80, 0xc000, 0x7f80, 0x0001]) },
      },
      { encryption },
    );
    const file = await openFile(path, { keys });
    const { weightSpecs, weightData } = await toTfjsWeights(file, { tensors: ["h", "b"] });
    await file.close();
    const ours = tf.io.decodeWeights(weightData, weightSpecs);
    const oracle = tf.io.decodeWeights(all.buffer, [
      { name: "h", shape: [65536], dtype: "float32", quantization: { dtype: "float16" } },
    ]);
    const got = ours.h?.dataSync() as Float32Array;
    const want = oracle.h?.dataSync() as Float32Array;
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(want[i])) expect(Number.isNaN(got[i]), `pattern ${i}`).toBe(true);
      else expect(Object.is(got[i], want[i]), `pattern ${i}: ${got[i]} vs ${want[i]}`).toBe(true);
    }
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(Array.from(ours.b?.dataSync() ?? [])).toEqual([
      1,
      -2,
      Number.POSITIVE_INFINITY,
      2 ** -133 * 1,
    ]);
  });

  it("widens integers, narrows 64-bit ones that fit, and refuses what tfjs cannot hold", async () => {
    const path = `${dir}/ints.safetensors`;
    await saveFile(path, {
      i8: { dtype: "I8", shape: [3], data: Int8Array.from([-128, 0, 127]) },
      u16: { dtype: "U16", shape: [2], data: Uint16Array.from([0, 65535]) },
      small: { dtype: "I64", shape: [2], data: BigInt64Array.from([-(2n ** 31n), 2n ** 31n - 1n]) },
      big: { dtype: "I64", shape: [1], data: BigInt64Array.from([2n ** 31n]) },
      f64: { dtype: "F64", shape: [1], data: Float64Array.from([0.1]) },
      flag: { dtype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) },
    });
    const file = await openFile(path);
    const { weightSpecs, weightData } = await toTfjsWeights(file, {
      tensors: ["i8", "u16", "small", "flag"],
    });
    const decoded = tf.io.decodeWeights(weightData, weightSpecs);
    expect(Array.from(decoded.i8?.dataSync() ?? [])).toEqual([-128, 0, 127]);
    expect(Array.from(decoded.u16?.dataSync() ?? [])).toEqual([0, 65535]);
    expect(Array.from(decoded.small?.dataSync() ?? [])).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(Array.from(decoded.flag?.dataSync() ?? [])).toEqual([1, 0]);
    expect(decoded.flag?.dtype).toBe("bool");
    for (const name of ["big", "f64"]) {
      const error = await toTfjsWeights(file, { tensors: [name] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CryptoTensorsError);
      expect((error as CryptoTensorsError).code).toBe("ERR_NOT_SUPPORTED");
    }
    await file.close();
  });
});
