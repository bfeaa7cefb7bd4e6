// encryptOnnx + createInferenceSession on a small model made at test time, against real
// onnxruntime-node: bit-identical outputs, nothing in the clear on disk, and every refusal.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode, generateKeys } from "../../src/index.js";
import { createInferenceSession, encryptOnnx } from "../../src/onnxruntime/index.js";
import { decodeModel, onnx } from "../../src/onnxruntime/onnx-proto.js";
import { tempDir } from "../integration/helpers.js";
import { SMALL_IN_FEATURES, SMALL_INPUT, SMALL_OUTPUT, writeSmallModel } from "./small-model.js";

const dir = tempDir("ct-onnx-");
const keys = generateKeys();
const [encKey, signKey] = keys.keys;
const encryption = { encKey, signKey };
const x = () =>
  new ort.Tensor(
    "float32",
    Float32Array.from({ length: 2 * SMALL_IN_FEATURES }, (_, i) => Math.sin(i) * 4),
    [2, SMALL_IN_FEATURES],
  );

async function output(session: ort.InferenceSession): Promise<Buffer> {
  const result = (await session.run({ [SMALL_INPUT]: x() }))[SMALL_OUTPUT] as ort.Tensor;
  expect(result.dims).toEqual([2, 3, 1]);
  const data = result.data as Float32Array;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CryptoTensorsError) return error.code;
    throw error;
  }
  throw new Error("expected a CryptoTensorsError");
}

describe("encryptOnnx + createInferenceSession", () => {
  for (const external of [false, true]) {
    for (const backend of ["native", "fallback"] as const) {
      it(`gives the plaintext model's outputs bit for bit (${external ? "external data" : "embedded"}, ${backend})`, async () => {
        const model = await writeSmallModel(dir, `m-${external}-${backend}.onnx`, {
          external,
          seed: 3,
        });
        const out = join(dir, `enc-${external}-${backend}`);
        const result = await encryptOnnx(model, out, { encryption });
        expect(result.tensors).toBe(4);
        const plain = await ort.InferenceSession.create(model);
        const encrypted = await createInferenceSession(ort, out, { keys, backend });
        expect(await output(encrypted)).toEqual(await output(plain));
        expect(await output(encrypted)).not.toEqual(Buffer.alloc(24));
      });
    }
  }

  it("runs after the arena is wiped: onnxruntime kept its own copy of every external weight", async () => {
    // y = x + B + C: Add reads its weights at run time (no pre-packing), from an initializer and a Constant.
    const width = 512; // 2 KiB each: both reach onnxruntime as external data
    const B = Float32Array.from({ length: width }, (_, i) => i / 3);
    const C = Float32Array.from({ length: width }, (_, i) => -i / 7);
    const info = (name: string) => ({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: width }] } } },
    });
    const path = join(dir, "add.onnx");
    await writeFile(
      path,
      onnx.ModelProto.encode({
        irVersion: 8,
        opsetImport: [{ version: 17 }],
        graph: {
          name: "add",
          node: [
            {
              opType: "Constant",
              output: ["C"],
              attribute: [
                {
                  name: "value",
                  type: 4,
                  t: { dataType: 1, dims: [width], rawData: new Uint8Array(C.buffer) },
                },
              ],
            },
            { opType: "Add", input: ["x", "B"], output: ["xb"] },
            { opType: "Add", input: ["xb", "C"], output: ["y"] },
          ],
          initializer: [
            { name: "B", dataType: 1, dims: [width], rawData: new Uint8Array(B.buffer) },
          ],
          input: [info("x")],
          output: [info("y")],
        },
      }).finish(),
    );
    const out = join(dir, "enc-add");
    await encryptOnnx(path, out, { encryption });
    const session = await createInferenceSession(ort, out, { keys });
    const x = new ort.Tensor("float32", new Float32Array(width).fill(1), [1, width]);
    const y = (await session.run({ x })).y?.data as Float32Array;
    const expected = Float32Array.from({ length: width }, (_, i) =>
      Math.fround(Math.fround(1 + (B[i] as number)) + (C[i] as number)),
    );
    expect(Buffer.from(y.buffer, y.byteOffset, y.byteLength)).toEqual(Buffer.from(expected.buffer));
  });

  it("leaves no weight in the clear and onnxruntime alone cannot load the graph", async () => {
    const model = await writeSmallModel(dir, "clear.onnx");
    const out = join(dir, "enc-clear");
    await encryptOnnx(model, out, { encryption });
    const original = decodeModel(await readFile(model), model);
    const w = original.graph?.node?.[0]?.attribute?.[0]?.t?.rawData as Uint8Array;
    expect(w.length).toBe(SMALL_IN_FEATURES * 3 * 4);
    for (const file of ["model.onnx", "model.safetensors"])
      expect((await readFile(join(out, file))).includes(Buffer.from(w))).toBe(false);
    await expect(ort.InferenceSession.create(join(out, "model.onnx"))).rejects.toThrow();
  });

  it("refuses an altered graph, wrong keys, and a denying policy", async () => {
    const model = await writeSmallModel(dir, "guard.onnx");
    const out = join(dir, "enc-guard");
    const policy = `package model
import rego.v1
default allow := false
allow if {
  input.claims.tier == "pro"
  count(input.tensors) == 4
}`;
    await encryptOnnx(model, out, { encryption: { ...encryption, policy: { local: policy } } });
    const ok = await createInferenceSession(ort, out, { keys, claims: { tier: "pro" } });
    expect((await output(ok)).length).toBe(24);
    expect(await codeOf(createInferenceSession(ort, out, { keys, claims: { tier: "free" } }))).toBe(
      "ERR_POLICY_DENIED",
    );
    expect(await codeOf(createInferenceSession(ort, out, { keys: generateKeys() }))).toMatch(
      /ERR_KEY_NOT_FOUND|ERR_SIGNATURE_INVALID|ERR_DECRYPTION_FAILED/,
    );
    const graphPath = join(out, "model.onnx");
    const graph = decodeModel(await readFile(graphPath), graphPath);
    graph.producerName = "someone else";
    await writeFile(graphPath, onnx.ModelProto.encode(graph).finish());
    expect(await codeOf(createInferenceSession(ort, out, { keys, claims: { tier: "pro" } }))).toBe(
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("refuses what cannot be converted exactly", async () => {
    const stringModel = join(dir, "strings.onnx");
    await writeFile(
      stringModel,
      onnx.ModelProto.encode({
        irVersion: 8,
        opsetImport: [{ version: 17 }],
        graph: {
          name: "g",
          initializer: [
            {
              name: "s",
              dataType: onnx.TensorProto.DataType.STRING,
              dims: [1],
              stringData: [Buffer.from("a")],
            },
          ],
        },
      }).finish(),
    );
    expect(await codeOf(encryptOnnx(stringModel, join(dir, "o1"), { encryption }))).toBe(
      "ERR_NOT_SUPPORTED",
    );

    // A field from a newer ONNX release (number 30 of ModelProto) would be dropped: refused.
    const small = await readFile(await writeSmallModel(dir, "newer.onnx"));
    const extra = onnx.ModelProto.encode({})
      .uint32((30 << 3) | 0)
      .uint32(1)
      .finish();
    const newer = join(dir, "newer-field.onnx");
    await writeFile(newer, Buffer.concat([small, extra]));
    expect(await codeOf(encryptOnnx(newer, join(dir, "o2"), { encryption }))).toBe(
      "ERR_NOT_SUPPORTED",
    );

    const junk = join(dir, "junk.onnx");
    await writeFile(junk, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(await codeOf(encryptOnnx(junk, join(dir, "o3"), { encryption }))).toBe("ERR_ONNX_MODEL");
    expect(await codeOf(createInferenceSession(ort, join(dir, "newer.onnx"), { keys }))).toBe(
      "ERR_ONNX_MODEL",
    );
    await expect(encryptOnnx(junk, dir, { encryption })).rejects.toThrow(TypeError);
  });
});
