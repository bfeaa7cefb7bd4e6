// Byte length of a tensor from dtype and shape (FORMAT.md §1.3), computed in BigInt so element
// counts above 2^53 are exact and anything past u64 is reported rather than rounded.
import { CryptoTensorsError } from "../errors.js";
import { dtypeBits, type Dtype } from "./dtype.js";

const U64_MAX = (1n << 64n) - 1n;

/**
 * Exact byte length of a tensor as a BigInt: product(shape) × bits / 8.
 * Throws `ERR_VALIDATION_OVERFLOW` when the element count or bit count passes u64 (the reference's
 * checked arithmetic), `ERR_MISALIGNED_SLICE` when the bit count is not a whole number of bytes.
 * `what` names the tensor in messages (a callback: built only when one is thrown).
 *
 * @example
 * ```ts
 * tensorByteLengthBig("F4", [3n, 2n]); // 3n
 * ```
 */
export function tensorByteLengthBig(
  dtype: Dtype,
  shape: readonly bigint[],
  what: string | (() => string) = "tensor",
): bigint {
  // A callback builds the name only for an error (a header check runs this once per tensor).
  const named = (): string => (typeof what === "function" ? what() : what);
  let elements = 1n;
  for (const dim of shape) {
    if (dim < 0n)
      throw new RangeError(`${named()}: shape dimensions must be non-negative, got ${dim}`);
    elements *= dim;
    if (elements > U64_MAX) overflow(named(), "element count");
  }
  const bits = elements * BigInt(dtypeBits(dtype));
  if (bits > U64_MAX) overflow(named(), "bit count");
  if (bits % 8n !== 0n) {
    throw new CryptoTensorsError(
      "ERR_MISALIGNED_SLICE",
      `${named()}: ${elements} elements of ${dtype} make ${bits} bits, not a whole number of bytes; ` +
        "sub-byte dtypes need an element count that fills whole bytes",
    );
  }
  return bits / 8n;
}

/**
 * Byte length of a tensor of `dtype` and `shape` (FORMAT.md §1.3), as a number.
 * Throws `ERR_VALIDATION_OVERFLOW` past u64 (and past `Number.MAX_SAFE_INTEGER`, which no buffer
 * in this process can reach), `ERR_MISALIGNED_SLICE` for a partial byte (e.g. an odd F4 count).
 * A shape with a non-integer or negative dimension is API misuse (`RangeError`).
 *
 * @example
 * ```ts
 * tensorByteLength("F32", [2, 3]); // 24
 * tensorByteLength("BOOL", []);    // 1 (a scalar)
 * tensorByteLength("F4", [3]);     // throws ERR_MISALIGNED_SLICE
 * ```
 */
export function tensorByteLength(
  dtype: Dtype,
  shape: readonly number[] | readonly bigint[],
): number {
  const dims = shape.map((dim: number | bigint): bigint => {
    if (typeof dim === "bigint") return dim;
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new RangeError(
        `shape dimensions must be non-negative safe integers, got ${String(dim)}`,
      );
    }
    return BigInt(dim);
  });
  const bytes = tensorByteLengthBig(dtype, dims);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) overflow("tensor", "byte length");
  return Number(bytes);
}

function overflow(what: string, quantity: string): never {
  throw new CryptoTensorsError(
    "ERR_VALIDATION_OVERFLOW",
    `${what}: the ${quantity} of the shape overflows 64 bits; the shape is corrupt or hostile`,
  );
}
