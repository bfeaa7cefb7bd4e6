// Shared helpers for the integration tests: temporary directories and random tensors.
import { randomBytes } from "node:crypto";
import type { TensorInput } from "../../src/index.js";

export { tempDir } from "../support/temp-dir.js";

/** A U8 tensor of `length` random bytes. */
export function randomTensor(
  length: number,
  dtype: TensorInput["dtype"] = "U8",
): TensorInput & { data: Uint8Array } {
  const bytesPerElement = { U8: 1, F16: 2, BF16: 2, F32: 4, F64: 8, I64: 8 }[dtype as string] ?? 1;
  return { dtype, shape: [length / bytesPerElement], data: new Uint8Array(randomBytes(length)) };
}
