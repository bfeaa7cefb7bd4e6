// Shared helpers for the integration tests: temporary directories and random tensors.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import type { TensorInput } from "../../src/index.js";

/** A temporary directory removed after the test file. */
export function tempDir(prefix = "ct-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A U8 tensor of `length` random bytes. */
export function randomTensor(
  length: number,
  dtype: TensorInput["dtype"] = "U8",
): TensorInput & { data: Uint8Array } {
  const bytesPerElement = { U8: 1, F16: 2, BF16: 2, F32: 4, F64: 8, I64: 8 }[dtype as string] ?? 1;
  return { dtype, shape: [length / bytesPerElement], data: new Uint8Array(randomBytes(length)) };
}
