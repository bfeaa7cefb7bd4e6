// Element conversions into the types TensorFlow.js weights can hold (float32, int32, bool,
// complex64). Only exact conversions: half floats widen to float32 bit-exactly, small integers
// widen to int32, and 64-bit or unsigned 32-bit integers narrow only when every value fits.

const f32Bits = new Uint32Array(1);
const f32 = new Float32Array(f32Bits.buffer);

/**
 * IEEE 754 binary16 bits → the float32 of the same value (exact; NaN payloads and signed zeros kept).
 *
 * @example
 * ```ts
 * halfToFloat(0x3c00); // 1
 * ```
 */
export function halfToFloat(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) {
    // Zero or subnormal: mantissa × 2^-24, exactly representable in float32.
    const magnitude = mantissa * 2 ** -24;
    return sign ? -magnitude : magnitude;
  }
  f32Bits[0] =
    exponent === 0x1f
      ? sign | 0x7f800000 | (mantissa << 13) // infinity or NaN
      : sign | ((exponent + 112) << 23) | (mantissa << 13); // rebias 15 → 127
  return f32[0] as number;
}

/**
 * bfloat16 bits → float32 (bfloat16 is the upper half of a float32).
 *
 * @example
 * ```ts
 * bfloat16ToFloat(0x3f80); // 1
 * ```
 */
export function bfloat16ToFloat(bits: number): number {
  f32Bits[0] = bits << 16;
  return f32[0] as number;
}

/** Little-endian source bytes of `count` elements → `out` (a view of the packed weight buffer). */
export type ElementConverter = (
  source: DataView,
  out: Float32Array | Int32Array,
  count: number,
) => number | null;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Converters by safetensors dtype; each returns null, or the index of the first element that does
 * not fit (the caller refuses the tensor).
 */
export const CONVERTERS: Readonly<Record<string, ElementConverter>> = {
  F16: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(src.getUint16(2 * i, true));
    return null;
  },
  BF16: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat(src.getUint16(2 * i, true));
    return null;
  },
  I8: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = src.getInt8(i);
    return null;
  },
  U8: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = src.getUint8(i);
    return null;
  },
  I16: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = src.getInt16(2 * i, true);
    return null;
  },
  U16: (src, out, n) => {
    for (let i = 0; i < n; i++) out[i] = src.getUint16(2 * i, true);
    return null;
  },
  U32: (src, out, n) => {
    for (let i = 0; i < n; i++) {
      const v = src.getUint32(4 * i, true);
      if (v > INT32_MAX) return i;
      out[i] = v;
    }
    return null;
  },
  I64: (src, out, n) => {
    for (let i = 0; i < n; i++) {
      const v = src.getBigInt64(8 * i, true);
      if (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX)) return i;
      out[i] = Number(v);
    }
    return null;
  },
  U64: (src, out, n) => {
    for (let i = 0; i < n; i++) {
      const v = src.getBigUint64(8 * i, true);
      if (v > BigInt(INT32_MAX)) return i;
      out[i] = Number(v);
    }
    return null;
  },
};
