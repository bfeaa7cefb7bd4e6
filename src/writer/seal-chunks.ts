// v2 tensors: many chunks are sealed at once through the backend (one seal job per group of
// chunks; the native backend spreads a job over its thread pool), and the group's write overlaps
// the sealing of the next group. Both backends give the same bytes (same IVs, same tags).
import type { Backend } from "../native/backend.js";
import type { AtomicFile } from "../io/durable-file.js";
import type { SealedSlot, SealPlan } from "./seal-plan.js";
import { readPiece, type TensorSource } from "./tensor-source.js";

/** Plaintext bytes per seal job: enough chunks to keep every core busy. */
const GROUP_BYTES = 32 << 20;

/**
 * Seals a v2 tensor from `source` and writes it at `position`, filling the slot's tags. An empty
 * tensor is one seal of the empty string (FORMAT.md §3.5). `step` runs before each group (abort
 * check and progress).
 *
 * @example
 * ```ts
 * await sealChunkedTensor(getBackend(), out, 4096, tensorBytes, source, slot, plan, () => undefined);
 * ```
 */
export async function sealChunkedTensor(
  backend: Backend,
  out: AtomicFile,
  position: number,
  length: number,
  source: TensorSource,
  slot: SealedSlot,
  plan: SealPlan,
  /** Called before each group with the tensor's bytes done so far: checks abort, reports progress. */
  step: (bytesDone: number) => void,
): Promise<void> {
  const chunkSize = plan.chunkSize as number;
  const groupChunks = Math.max(1, Math.floor(GROUP_BYTES / chunkSize));
  const groupBytes = groupChunks * chunkSize;
  const size = Math.min(groupBytes, length);
  // Two sealed buffers: one being written while the next group is sealed into the other.
  const sealed = [new Uint8Array(size), new Uint8Array(size)];
  const scratch = new Uint8Array(size);
  const tags = slot.entry.tags as Buffer;
  const baseIv = (slot.entry.baseIv as Buffer).subarray(0, 12);
  let writing: Promise<void> = Promise.resolve();
  try {
    // `do`: an empty tensor still runs one (empty) seal job for its single tag.
    let offset = 0;
    let group = 0;
    do {
      step(offset);
      const end = Math.min(length, offset + groupBytes);
      const plaintext = await readPiece(source, offset, end, scratch);
      const ciphertext = (sealed[group % 2] as Uint8Array).subarray(0, end - offset);
      const firstChunk = group * groupChunks;
      const chunks = Math.max(1, Math.ceil((end - offset) / chunkSize));
      // The buffer written two groups ago must be on disk before it is reused.
      await writing;
      await backend.seal({
        algorithm: plan.algorithm,
        key: slot.dataKey,
        baseIv,
        firstChunk,
        chunkSize,
        plaintext,
        ciphertext,
        tags: tags.subarray(firstChunk * 16, (firstChunk + chunks) * 16),
      });
      writing = out.write(ciphertext, position + offset);
      offset += groupBytes;
      group++;
    } while (offset < length);
    await writing;
  } finally {
    await writing.catch(() => undefined);
    scratch.fill(0);
  }
}
