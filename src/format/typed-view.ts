// Typed views of tensor bytes by dtype, and the widening of half-precision floats to Float32.
// safetensors stores elements little-endian (FORMAT.md §1.3); typed arrays use the platform's
// order, so these refuse to run on a big-endian machine rather than return swapped values.
import { endianness } from "node:os";
import { NotSupportedError } from "../errors.js";
import type { Dtype } from "./dtype.js";

/** The typed array `tensorView` returns for each dtype it can view without conversion. */
export interface TypedArrayByDtype {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  U16: Uint16Array;
  I16: Int16Array;
  U32: Uint32Array;
  I32: Int32Array;
  U64: BigUint64Array;
  I64: BigInt64Array;
  F32: Float32Array;
  F64: Float64Array;
  /** Raw IEEE binary16 bit patterns; `toFloat32` converts them. */
  F16: Uint16Array;
  /** Raw bfloat16 bit patterns (the top half of a float32); `toFloat32` converts them. */
  BF16: Uint16Array;
}

/** Dtypes with a typed-array view: every dtype except the packed sub-byte and 8-bit floats and C64. */
export type ViewableDtype = keyof TypedArrayByDtype;

type ArrayConstructorLike = {
  new (
    buffer: ArrayBufferLike,
    byteOffset: number,
    length: number,
  ): TypedArrayByDtype[ViewableDtype];
  readonly BYTES_PER_ELEMENT: number;
};

const VIEWS: Record<ViewableDtype, ArrayConstructorLike> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  U16: Uint16Array,
  I16: Int16Array,
  U32: Uint32Array,
  I32: Int32Array,
  U64: BigUint64Array,
  I64: BigInt64Array,
  F32: Float32Array,
  F64: Float64Array,
  F16: Uint16Array,
  BF16: Uint16Array,
};

/** What `tensorView` and `toFloat32` accept: a tensor as loadFile/getTensor return it. */
export interface TensorBytes<D extends Dtype = Dtype> {
  dtype: D;
  data: Uint8Array;
}

function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new NotSupportedError(
      "typed tensor views need a little-endian machine (safetensors data is little-endian)",
    );
  }
}

/**
 * The tensor's elements as the typed array of its dtype (Float32Array for F32, BigInt64Array for
 * I64, …; raw Uint16Array bit patterns for F16/BF16, see {@link toFloat32}). A view over the same
 * memory when the bytes are aligned to the element size, otherwise an aligned copy. Packed and
 * 8-bit float dtypes (F4, F6_*, F8_*) and C64 have no typed array: NotSupportedError.
 *
 * @example
 * ```ts
 * const { weight } = await loadFile("model.safetensors");
 * if (weight.dtype === "F32") {
 *   const values = tensorView(weight); // Float32Array
 * }
 * ```
 */
export function tensorView<D extends ViewableDtype>(tensor: TensorBytes<D>): TypedArrayByDtype[D];
export function tensorView(tensor: TensorBytes): TypedArrayByDtype[ViewableDtype];
export function tensorView(tensor: TensorBytes): TypedArrayByDtype[ViewableDtype] {
  if (!(tensor.data instanceof Uint8Array)) throw new TypeError("tensor.data must be a Uint8Array");
  const View = VIEWS[tensor.dtype as ViewableDtype] as ArrayConstructorLike | undefined;
  if (View === undefined) {
    throw new NotSupportedError(
      `dtype ${tensor.dtype} has no typed-array view; read its bytes from tensor.data`,
    );
  }
  requireLittleEndian();
  const size = View.BYTES_PER_ELEMENT;
  const { data } = tensor;
  if (data.byteLength % size !== 0) {
    throw new RangeError(
      `${data.byteLength} bytes is not a whole number of ${tensor.dtype} elements`,
    );
  }
  if (data.byteOffset % size === 0)
    return new View(data.buffer, data.byteOffset, data.byteLength / size);
  const aligned = new Uint8Array(data.byteLength);
  aligned.set(data);
  return new View(aligned.buffer, 0, data.byteLength / size);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits → the number (exact: every half is a float32). */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The tensor's values as a new Float32Array. F16 and BF16 widen exactly (every half and bfloat16
 * value is a float32; NaN stays NaN, ±Infinity and -0 are kept); F32 is copied; F64 and the
 * integer dtypes are rounded to the nearest float32 (I64/U64 beyond 2^24 lose precision).
 *
 * @example
 * ```ts
 * const { embed } = await loadFile("model.safetensors"); // embed.dtype === "BF16"
 * const values = toFloat32(embed);
 * ```
 */
export function toFloat32(tensor: TensorBytes): Float32Array {
  const view = tensorView(tensor);
  const out = new Float32Array(view.length);
  if (tensor.dtype === "BF16") {
    for (let i = 0; i < view.length; i++) {
      u32[0] = (view[i] as number) << 16;
      out[i] = f32[0] as number;
    }
  } else if (tensor.dtype === "F16") {
    for (let i = 0; i < view.length; i++) out[i] = halfToNumber(view[i] as number);
  } else if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    for (let i = 0; i < view.length; i++) out[i] = Number(view[i]);
  } else {
    out.set(view as ArrayLike<number>);
  }
  return out;
}
