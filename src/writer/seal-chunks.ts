// v2 tensors written through the native addon: many chunks are sealed at once on its thread pool
// (one call per group of chunks), and the group's write overlaps the sealing of the next group.
// Byte-identical to sealing chunk by chunk with node:crypto (same IVs, same tags).
import { loadNativeBinding, type NativeBinding } from "../native/addon.js";
import { ALGORITHM_IDS } from "../native/plan-table.js";
import { nativeStatusError } from "../native/status.js";
import type { AtomicFile } from "./atomic-file.js";
import type { SealedSlot, SealPlan } from "./seal-plan.js";
import { readPiece, type TensorSource } from "./write-model.js";

/** Plaintext bytes per native call: enough chunks to keep every core busy. */
const GROUP_BYTES = 32 << 20;

let binding: NativeBinding | null | undefined;

/**
 * The addon when it loads (and the fallback was not forced with CRYPTOTENSORS_BACKEND=fallback),
 * else null: the writer then seals chunk by chunk with node:crypto.
 *
 * @example
 * ```ts
 * if (nativeSealer()) await sealTensorNative(out, position, length, source, slot, plan, check);
 * ```
 */
export function nativeSealer(): NativeBinding | null {
  if (binding === undefined) {
    try {
      binding = process.env["CRYPTOTENSORS_BACKEND"] === "fallback" ? null : loadNativeBinding();
    } catch {
      binding = null;
    }
  }
  return binding;
}

/**
 * Seals a non-empty v2 tensor from `source` and writes it at `position`, filling the slot's tags.
 * `step` runs before each group (abort check and progress).
 *
 * @example
 * ```ts
 * await sealTensorNative(native, out, 4096, tensorBytes, source, slot, plan, () => undefined);
 * ```
 */
export async function sealTensorNative(
  native: NativeBinding,
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
  const baseIv = slot.entry.baseIv as Buffer;
  let writing: Promise<void> = Promise.resolve();
  try {
    for (let offset = 0, group = 0; offset < length; offset += groupBytes, group++) {
      step(offset);
      const end = Math.min(length, offset + groupBytes);
      const plain = await readPiece(source, offset, end, scratch);
      const target = (sealed[group % 2] as Uint8Array).subarray(0, end - offset);
      const firstChunk = group * groupChunks;
      const chunks = Math.ceil((end - offset) / chunkSize);
      // The buffer written two groups ago must be on disk before it is reused.
      await writing;
      const status = await native.seal(
        ALGORITHM_IDS[plan.algorithm],
        slot.dataKey,
        baseIv.subarray(0, 12),
        firstChunk,
        chunkSize,
        plain,
        target,
        tags.subarray(firstChunk * 16, (firstChunk + chunks) * 16),
      );
      const error = nativeStatusError(status, `encrypting ${JSON.stringify(source.name)}`);
      if (error) throw error;
      writing = out.write(target, position + offset);
    }
    await writing;
  } finally {
    await writing.catch(() => undefined);
    scratch.fill(0);
  }
}
