// toTfjsWeights: an opened (verified, decrypted on read) file → the `weightSpecs` + `weightData`
// pair TensorFlow.js takes (tf.io.fromMemory, tf.io.decodeWeights). Tensors tfjs holds as they
// are (F32, I32, BOOL, C64) are decrypted straight into the packed buffer; the others are read
// in bounded pieces and converted exactly, or refused.
import { NotSupportedError } from "../errors.js";
import type { Dtype } from "../format/dtype.js";
import type { TensorFile } from "../reader/tensor-file.js";
import { CONVERTERS } from "./convert.js";

/** A TensorFlow.js weights-manifest entry (`tf.io.WeightsManifestEntry`). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "complex64";
}

export interface TfjsWeights {
  weightSpecs: TfjsWeightSpec[];
  /** Every tensor, packed in `weightSpecs` order. Plaintext: wipe it once tfjs has made its tensors. */
  weightData: ArrayBuffer;
}

export interface ToTfjsOptions {
  /** Tensors to include, in this order (default: all, in file order). */
  tensors?: readonly string[];
  signal?: AbortSignal;
}

const DIRECT: Partial<Record<Dtype, TfjsWeightSpec["dtype"]>> = {
  F32: "float32",
  I32: "int32",
  BOOL: "bool",
  C64: "complex64",
};
const CONVERTED: Partial<Record<Dtype, TfjsWeightSpec["dtype"]>> = {
  F16: "float32",
  BF16: "float32",
  I8: "int32",
  U8: "int32",
  I16: "int32",
  U16: "int32",
  U32: "int32",
  I64: "int32",
  U64: "int32",
};
/** Elements converted per read: bounds the plaintext scratch to 8 MiB of the widest source type. */
const PIECE_ELEMENTS = 1 << 20;

/**
 * Reads tensors of an opened file into TensorFlow.js weights: F32, I32, BOOL and C64 as they are;
 * F16 and BF16 widened to float32 (exactly); 8/16-bit integers widened to int32; U32, I64 and U64
 * narrowed to int32 only when every value fits. F64 and the 8-bit and smaller floats are refused.
 *
 * @example
 * ```ts
 * const file = await openFile("model.safetensors", { keys });
 * const { weightSpecs, weightData } = await toTfjsWeights(file);
 * await file.close();
 * const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }));
 * new Uint8Array(weightData).fill(0);
 * ```
 */
export async function toTfjsWeights(
  file: TensorFile,
  options: ToTfjsOptions = {},
): Promise<TfjsWeights> {
  if (typeof file?.names !== "function" || typeof file.readRange !== "function")
    throw new TypeError("file must be a TensorFile from openFile");
  const names = options.tensors ?? file.names();
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string"))
    throw new TypeError("options.tensors must be an array of tensor names");
  const plan = names.map((name) => {
    const info = file.info(name);
    const dtype = DIRECT[info.dtype] ?? CONVERTED[info.dtype];
    if (dtype === undefined) {
      throw new NotSupportedError(
        `tensor ${JSON.stringify(name)} is ${info.dtype}, which TensorFlow.js cannot hold exactly; convert it to F32 first`,
      );
    }
    const elements = info.shape.reduce((a, b) => a * b, 1);
    const bytes = dtype === "bool" ? elements : dtype === "complex64" ? 8 * elements : 4 * elements;
    return {
      name,
      info,
      spec: { name, shape: info.shape, dtype } as TfjsWeightSpec,
      elements,
      bytes,
    };
  });
  const weightData = new ArrayBuffer(plan.reduce((sum, p) => sum + p.bytes, 0));
  try {
    let offset = 0;
    for (const { name, info, elements, bytes } of plan) {
      if (options.signal?.aborted) throw options.signal.reason;
      const out = new Uint8Array(weightData, offset, bytes);
      if (DIRECT[info.dtype]) {
        await file.getTensor(name, { into: out });
      } else {
        await convertInto(
          file,
          name,
          info.dtype,
          info.byteLength / Math.max(elements, 1),
          elements,
          out,
        );
      }
      offset += bytes;
    }
  } catch (error) {
    new Uint8Array(weightData).fill(0);
    throw error;
  }
  return { weightSpecs: plan.map((p) => p.spec), weightData };
}

async function convertInto(
  file: TensorFile,
  name: string,
  dtype: Dtype,
  sourceSize: number,
  elements: number,
  out: Uint8Array,
): Promise<void> {
  const convert = CONVERTERS[dtype];
  if (!convert) throw new NotSupportedError(`no conversion for ${dtype}`);
  const target =
    CONVERTED[dtype] === "float32"
      ? new Float32Array(out.buffer, out.byteOffset, elements)
      : new Int32Array(out.buffer, out.byteOffset, elements);
  const scratch = new Uint8Array(Math.min(elements, PIECE_ELEMENTS) * sourceSize);
  try {
    for (let first = 0; first < elements; first += PIECE_ELEMENTS) {
      const count = Math.min(PIECE_ELEMENTS, elements - first);
      const piece = scratch.subarray(0, count * sourceSize);
      await file.readRange(name, first * sourceSize, (first + count) * sourceSize, piece);
      const misfit = convert(
        new DataView(piece.buffer, piece.byteOffset, piece.byteLength),
        target.subarray(first, first + count),
        count,
      );
      if (misfit !== null) {
        throw new NotSupportedError(
          `tensor ${JSON.stringify(name)} (${dtype}) has a value at element ${first + misfit} outside int32, which TensorFlow.js cannot hold`,
        );
      }
    }
  } finally {
    scratch.fill(0);
  }
}
