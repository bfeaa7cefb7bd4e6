// A small ONNX model built at test time with onnx-proto: y = Reshape((x·W + b) * Cast(s), shape).
// Its weights use every storage form the converter reads: a Constant node's raw_data (W),
// float_data (b), int32_data for F16 (s), int64_data (shape), or external data.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { onnx as OnnxNamespace } from "onnx-proto";
import { onnx } from "../../src/onnxruntime/onnx-proto.js";

const T = onnx.TensorProto.DataType;

export const SMALL_INPUT = "x";
export const SMALL_OUTPUT = "y";
// 96 × 3 float32 = 1152 bytes: over INLINE_MAX_BYTES, so W reaches onnxruntime as external data.
export const SMALL_IN_FEATURES = 96;
export const SMALL_OUT_FEATURES = 3;

/** Deterministic weights, different for each seed. */
function weights(seed: number) {
  const w = Float32Array.from(
    { length: SMALL_IN_FEATURES * SMALL_OUT_FEATURES },
    (_, i) => Math.sin(seed + i) * 0.5,
  );
  const b = Float32Array.from({ length: SMALL_OUT_FEATURES }, (_, i) => Math.cos(seed * 3 + i));
  return { w, b };
}

export interface SmallModelOptions {
  seed?: number;
  /**
   * Write b and s to `<name>.data` beside the model instead of embedding them; `shape` stays
   * embedded, as onnx's own external-data writer keeps small tensors (onnxruntime's shape
   * inference cannot read a Reshape shape from external data).
   */
  external?: boolean;
}

/** Writes the model into `dir` and returns its path. */
export async function writeSmallModel(
  dir: string,
  name: string,
  options: SmallModelOptions = {},
): Promise<string> {
  const { w, b } = weights(options.seed ?? 1);
  const f16Two = 0x4000; // 2.0 in IEEE half precision
  const shape = [-1n, BigInt(SMALL_OUT_FEATURES), 1n];
  const constantW: OnnxNamespace.ITensorProto = {
    name: "W",
    dataType: T.FLOAT,
    dims: [SMALL_IN_FEATURES, SMALL_OUT_FEATURES],
    rawData: new Uint8Array(w.buffer),
  };
  let initializer: OnnxNamespace.ITensorProto[] = [
    { name: "b", dataType: T.FLOAT, dims: [SMALL_OUT_FEATURES], floatData: [...b] },
    { name: "s", dataType: T.FLOAT16, dims: [1], int32Data: [f16Two] },
    { name: "shape", dataType: T.INT64, dims: [3], int64Data: shape.map((v) => Number(v)) },
  ];
  if (options.external) {
    const blobs: Uint8Array[] = [
      new Uint8Array(b.buffer),
      new Uint8Array(new Uint16Array([f16Two]).buffer),
    ];
    let offset = 0;
    const dataFile = `${name}.data`;
    initializer = initializer.map((t, i) => {
      if (i >= blobs.length) return t;
      const length = (blobs[i] as Uint8Array).length;
      const entry = {
        name: t.name,
        dataType: t.dataType,
        dims: t.dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: dataFile },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(length) },
        ],
      };
      offset += length;
      return entry;
    });
    await writeFile(join(dir, dataFile), Buffer.concat(blobs));
  }
  const floatInfo = (n: string, dims: Array<number | string>): OnnxNamespace.IValueInfoProto => ({
    name: n,
    type: {
      tensorType: {
        elemType: T.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "cryptotensors-tests",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "small",
      node: [
        {
          opType: "Constant",
          output: ["W"],
          name: "weight",
          attribute: [
            { name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: constantW },
          ],
        },
        { opType: "MatMul", input: [SMALL_INPUT, "W"], output: ["xw"], name: "matmul" },
        { opType: "Add", input: ["xw", "b"], output: ["xwb"], name: "add" },
        {
          opType: "Cast",
          input: ["s"],
          output: ["s32"],
          name: "cast",
          attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }],
        },
        { opType: "Mul", input: ["xwb", "s32"], output: ["scaled"], name: "mul" },
        { opType: "Reshape", input: ["scaled", "shape"], output: [SMALL_OUTPUT], name: "reshape" },
      ],
      initializer,
      input: [floatInfo(SMALL_INPUT, ["batch", SMALL_IN_FEATURES])],
      output: [floatInfo(SMALL_OUTPUT, ["batch", SMALL_OUT_FEATURES, 1])],
    },
  });
  const path = join(dir, name);
  await writeFile(path, onnx.ModelProto.encode(model).finish());
  return path;
}
