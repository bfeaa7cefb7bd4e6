// ONNX initializers as safetensors tensors: the exact dtype mapping, and each initializer's bytes
// (little-endian, row-major) from wherever the model keeps them: raw_data, the typed repeated
// fields, or an external data file beside the model.
import { open } from "node:fs/promises";
import { endianness } from "node:os";
import { isAbsolute, join, normalize, sep } from "node:path";
import { CryptoTensorsError, NotSupportedError } from "../errors.js";
import type { Dtype } from "../format/dtype.js";
import { tensorByteLength } from "../format/size.js";
import { int64ToNumber, onnx, type TensorProto } from "./onnx-proto.js";

const T = onnx.TensorProto.DataType;

/**
 * ONNX `TensorProto.DataType` → safetensors dtype, for the types whose bytes are the same in both.
 * FLOAT8 variants come from newer ONNX releases (numbers per onnx.proto): only E4M3FN and E5M2
 * have a safetensors twin; the FNUZ variants, 4-bit, STRING and COMPLEX128 have none.
 */
const ONNX_TO_DTYPE: ReadonlyMap<number, Dtype> = new Map<number, Dtype>([
  [T.FLOAT, "F32"],
  [T.UINT8, "U8"],
  [T.INT8, "I8"],
  [T.UINT16, "U16"],
  [T.INT16, "I16"],
  [T.INT32, "I32"],
  [T.INT64, "I64"],
  [T.BOOL, "BOOL"],
  [T.FLOAT16, "F16"],
  [T.DOUBLE, "F64"],
  [T.UINT32, "U32"],
  [T.UINT64, "U64"],
  [T.COMPLEX64, "C64"],
  [T.BFLOAT16, "BF16"],
  [17, "F8_E4M3"], // FLOAT8E4M3FN
  [19, "F8_E5M2"], // FLOAT8E5M2
  [24, "F8_E8M0"], // FLOAT8E8M0
]);

/** The safetensors dtype that holds an ONNX data type's bytes unchanged, or a typed refusal. */
export function dtypeOfOnnx(dataType: number, name: string): Dtype {
  const dtype = ONNX_TO_DTYPE.get(dataType);
  if (dtype === undefined) {
    throw new NotSupportedError(
      `initializer ${JSON.stringify(name)} has ONNX data type ${dataType} (${T[dataType] ?? "unknown"}), which has no exact safetensors dtype; such models cannot be converted`,
    );
  }
  return dtype;
}

/** The ONNX data type stored for a safetensors dtype (the inverse of {@link dtypeOfOnnx}). */
export function onnxOfDtype(dtype: Dtype): number {
  for (const [dataType, d] of ONNX_TO_DTYPE) if (d === dtype) return dataType;
  throw new NotSupportedError(`dtype ${dtype} has no ONNX data type`);
}

/** An initializer ready to be written as a tensor. */
export interface InitializerSource {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  /** Bytes `[start, end)` of the initializer into (a prefix of) `scratch`, or a view of its own. */
  read(start: number, end: number, scratch: Uint8Array): Promise<Uint8Array>;
}

/**
 * Describes one weight tensor, to be stored as `name`, and how to read its bytes; refuses what
 * cannot be mapped exactly. `modelDir` resolves external data locations (ONNX: relative paths
 * inside the model's directory).
 */
export function initializerSource(
  name: string,
  tensor: TensorProto,
  modelDir: string,
): InitializerSource {
  if (typeof name !== "string" || name.length === 0)
    throw onnxError("an initializer has no name; ONNX requires named initializers");
  if (tensor.segment) throw new NotSupportedError(`initializer ${q(name)} is segmented`);
  const dtype = dtypeOfOnnx(tensor.dataType ?? 0, name);
  const shape = (tensor.dims ?? []).map((d) => {
    const n = int64ToNumber(d);
    if (n === null || n < 0)
      throw onnxError(`initializer ${q(name)} has an invalid dimension ${d}`);
    return n;
  });
  const byteLength = tensorByteLength(dtype, shape);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    return externalSource(tensor, name, dtype, shape, byteLength, modelDir);
  const bytes = embeddedBytes(tensor, dtype, name);
  if (bytes.byteLength !== byteLength) {
    throw onnxError(
      `initializer ${q(name)} holds ${bytes.byteLength} bytes but ${dtype} ${JSON.stringify(shape)} needs ${byteLength}`,
    );
  }
  return { name, dtype, shape, byteLength, read: async (start, end) => bytes.subarray(start, end) };
}

/** raw_data, or the typed field ONNX uses for the data type, as little-endian bytes. */
function embeddedBytes(tensor: TensorProto, dtype: Dtype, name: string): Uint8Array {
  const floatData = tensor.floatData ?? [];
  const int32Data = tensor.int32Data ?? [];
  const int64Data = tensor.int64Data ?? [];
  const doubleData = tensor.doubleData ?? [];
  const uint64Data = tensor.uint64Data ?? [];
  const typedCount =
    floatData.length +
    int32Data.length +
    int64Data.length +
    doubleData.length +
    uint64Data.length +
    (tensor.stringData ?? []).length;
  if (tensor.rawData && tensor.rawData.length > 0) {
    if (typedCount > 0) throw onnxError(`initializer ${q(name)} has both raw_data and typed data`);
    return tensor.rawData;
  }
  switch (dtype) {
    case "F32":
    case "C64":
      return bytesOf(Float32Array.from(floatData));
    case "F64":
      return bytesOf(Float64Array.from(doubleData));
    case "I32":
      return bytesOf(Int32Array.from(int32Data));
    case "I16":
      return bytesOf(Int16Array.from(int32Data));
    case "U16":
    case "F16":
    case "BF16":
      // onnx.proto: 16-bit types travel in int32_data, one element (or its bit pattern) per entry.
      return bytesOf(Uint16Array.from(int32Data));
    case "I8":
      return bytesOf(Int8Array.from(int32Data));
    case "U8":
    case "BOOL":
    case "F8_E4M3":
    case "F8_E5M2":
    case "F8_E8M0":
      return Uint8Array.from(int32Data);
    case "I64":
      return bytesOf(BigInt64Array.from(int64Data, (v) => BigInt.asIntN(64, BigInt(String(v)))));
    case "U32":
      return bytesOf(Uint32Array.from(uint64Data, (v) => Number(String(v))));
    case "U64":
      return bytesOf(BigUint64Array.from(uint64Data, (v) => BigInt.asUintN(64, BigInt(String(v)))));
    default:
      throw new NotSupportedError(`initializer ${q(name)}: dtype ${dtype} has no typed ONNX field`);
  }
}

function externalSource(
  tensor: TensorProto,
  name: string,
  dtype: Dtype,
  shape: number[],
  byteLength: number,
  modelDir: string,
): InitializerSource {
  const fields = new Map((tensor.externalData ?? []).map((e) => [e.key, e.value]));
  const location = fields.get("location");
  if (!location) throw onnxError(`initializer ${q(name)} is external but names no location`);
  // ONNX's own checker rule: a relative path that stays inside the model's directory.
  const relative = normalize(location);
  if (isAbsolute(relative) || relative === ".." || relative.startsWith(`..${sep}`)) {
    throw onnxError(
      `initializer ${q(name)} points outside the model's directory (${q(location)}); external data must be a relative path inside it`,
    );
  }
  const offset = parseCount(fields.get("offset") ?? "0", name, "offset");
  const length = fields.has("length")
    ? parseCount(fields.get("length") as string, name, "length")
    : byteLength;
  if (length !== byteLength) {
    throw onnxError(
      `initializer ${q(name)} declares ${length} bytes of external data but ${dtype} ${JSON.stringify(shape)} needs ${byteLength}`,
    );
  }
  const path = join(modelDir, relative);
  return {
    name,
    dtype,
    shape,
    byteLength,
    read: async (start, end, scratch) => {
      const view = scratch.subarray(0, end - start);
      const handle = await open(path, "r").catch((cause: unknown) => {
        throw new CryptoTensorsError(
          "ERR_IO",
          `cannot open the external data ${path} of ${q(name)}`,
          {
            cause,
          },
        );
      });
      try {
        let done = 0;
        while (done < view.length) {
          const { bytesRead } = await handle.read(
            view,
            done,
            view.length - done,
            offset + start + done,
          );
          if (bytesRead === 0) {
            throw new CryptoTensorsError(
              "ERR_FILE_TRUNCATED",
              `${path} ends before the ${byteLength} bytes of ${q(name)} at offset ${offset}`,
            );
          }
          done += bytesRead;
        }
      } finally {
        await handle.close();
      }
      return view;
    },
  };
}

function parseCount(text: string, name: string, field: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw onnxError(`initializer ${q(name)} has an invalid external data ${field} ${q(text)}`);
  return n;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  // Typed arrays are in platform order; ONNX and safetensors are little-endian.
  if (endianness() !== "LE")
    throw new NotSupportedError(
      "typed ONNX initializer fields are converted on little-endian machines only",
    );
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function q(text: string): string {
  return JSON.stringify(text);
}

export function onnxError(message: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_ONNX_MODEL", message);
}
