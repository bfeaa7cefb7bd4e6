// The ONNX protobuf schema comes from the npm package `onnx-proto` (protobufjs static code for the
// official onnx.proto of ONNX 1.10). protobufjs skips fields it does not know when it decodes, and
// they would be missing from anything re-encoded, so every decode here watches for skipped fields
// and refuses a model that has any instead of silently rewriting it without them.
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { onnx as OnnxNamespace } from "onnx-proto";
import { CryptoTensorsError } from "../errors.js";

const require = createRequire(import.meta.url);
// onnx-proto is CommonJS (`module.exports = $root`); its named export is not visible to an ESM import.
export const onnx: typeof OnnxNamespace = (require("onnx-proto") as { onnx: typeof OnnxNamespace })
  .onnx;
// The protobufjs runtime onnx-proto's generated code runs on (resolved from onnx-proto's folder).
const protobufReader = (
  require(
    require.resolve("protobufjs/minimal", { paths: [dirname(require.resolve("onnx-proto"))] }),
  ) as { Reader: { prototype: { skipType(wireType: number): unknown } } }
).Reader.prototype;

export type ModelProto = OnnxNamespace.ModelProto;
// Nested messages are typed by protobufjs as their plain-object interfaces.
export type TensorProto = OnnxNamespace.ITensorProto;
export type GraphProto = OnnxNamespace.IGraphProto;

/**
 * Decodes an ONNX model and proves the decode lost nothing: the generated decoders call
 * `Reader.skipType` exactly for fields the schema does not have, so no such call may happen.
 * (Re-encoding does not give the same bytes in general: onnx-proto writes repeated scalars such
 * as `dims` packed, which every protobuf parser reads like the unpacked form.)
 *
 * @example
 * ```ts
 * const model = decodeModel(await readFile("model.onnx"), "model.onnx");
 * ```
 */
export function decodeModel(bytes: Uint8Array, label: string): ModelProto {
  let model: ModelProto;
  let unknownFields = 0;
  const skipType = protobufReader.skipType;
  // Decoding is synchronous, so the wrapper sees this decode's calls only.
  protobufReader.skipType = function (this: unknown, wireType: number) {
    unknownFields++;
    return skipType.call(this, wireType);
  };
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_ONNX_MODEL",
      `${label} is not an ONNX model (protobuf decoding failed: ${(cause as Error).message})`,
      { cause },
    );
  } finally {
    protobufReader.skipType = skipType;
  }
  if (unknownFields > 0) {
    throw new CryptoTensorsError(
      "ERR_NOT_SUPPORTED",
      `${label} has ${unknownFields} protobuf field(s) unknown to the ONNX 1.10 schema of onnx-proto (a newer ONNX feature); converting it would silently drop them, so it is refused`,
    );
  }
  return model;
}

/**
 * Encodes an ONNX model.
 *
 * @example
 * ```ts
 * const bytes = encodeModel(model);
 * ```
 */
export function encodeModel(model: OnnxNamespace.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** A protobufjs int64 (a Long, or a number for small values) as a safe JS integer, or null. */
export function int64ToNumber(value: unknown): number | null {
  const n = typeof value === "number" ? value : Number(String(value));
  return Number.isSafeInteger(n) ? n : null;
}
