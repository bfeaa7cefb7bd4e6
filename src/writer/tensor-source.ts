// What the writer streams from: a tensor whose plaintext bytes are produced on demand (a buffer in
// memory for saveFile, another file's tensor for convertFile).
import { CryptoTensorsError } from "../errors.js";
import type { Dtype } from "../format/dtype.js";
import type { ReadSealJob } from "../native/backend.js";

/** A file that reads and seals ranges of itself in one pass (a local plaintext input of convertFile). */
export interface ReadSealFile {
  readSealRanges(jobs: readonly ReadSealJob[]): Promise<void>;
}

/** A tensor to write, whose plaintext bytes are produced on demand. */
export interface TensorSource {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /** Plaintext bytes `[start, end)`: fills `scratch` (at least `end - start` long) or returns a view of its own. */
  read(start: number, end: number, scratch: Uint8Array): Promise<Uint8Array>;
  /**
   * True when `read` only returns views of memory (nothing to wait for): the writer then seals a
   * whole batch of such pieces as one job, where it seals the pieces of a slower source as they
   * arrive (overlapping the next piece's read).
   */
  inMemory?: boolean;
  /**
   * Where the tensor's plaintext lies in a file that can read and seal it in one pass: an
   * encrypted (v2) output then has each batch's pieces of it read and sealed by one native job,
   * every piece encrypted while it is still in the CPU's cache (`read` is used otherwise).
   */
  sealedRead?: { file: ReadSealFile; offset: number } | undefined;
}

/**
 * Plaintext `[start, end)` of a source, checked for length.
 *
 * @example
 * ```ts
 * const plain = await readPiece(source, 0, 4096, scratch);
 * ```
 */
export async function readPiece(
  source: TensorSource,
  start: number,
  end: number,
  scratch: Uint8Array,
): Promise<Uint8Array> {
  const plain = await source.read(start, end, scratch);
  if (plain.length !== end - start)
    throw new CryptoTensorsError("ERR_INTERNAL", `source of ${source.name} returned a short read`);
  return plain;
}
