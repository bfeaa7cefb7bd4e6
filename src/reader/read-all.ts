// Whole-model loads: one pass over the tensors in file order, packed into plans of about
// BATCH_BYTES that the backend runs in one call each (the native backend spreads their v2 chunks
// and plain pieces over its thread pool, decrypting straight into the destinations).
import { CryptoTensorsError } from "../errors.js";
import type { PlanItem } from "../native/backend.js";

/** Bytes per backend call: large enough that the per-call cost vanishes, small enough for prompt progress and abort. */
export const BATCH_BYTES = 64 << 20;
/** Alignment of each tensor inside a caller's arena (cache line; SIMD loads never straddle it). */
export const ARENA_ALIGNMENT = 64;

/** A tensor to load: the plan items covering it (pieces of a v2 tensor may be split over batches). */
export interface LoadStep {
  name: string;
  byteLength: number;
  items: PlanItem[];
}

export interface ReadAllProgress {
  tensor: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface RunStepsOptions {
  onProgress?: ((progress: ReadAllProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  path: string;
  /** Bytes per `run` call (default {@link BATCH_BYTES}); `Infinity`: every item in one call. */
  batchBytes?: number;
}

/**
 * Byte offset of each tensor in an arena that packs `lengths` in order, each 64-byte aligned, and
 * the arena's total size.
 *
 * @example
 * ```ts
 * arenaLayout([3, 100]); // { offsets: [0, 64], byteLength: 164 }
 * ```
 */
export function arenaLayout(lengths: readonly number[]): { offsets: number[]; byteLength: number } {
  const offsets: number[] = [];
  let end = 0;
  for (const length of lengths) {
    const start = Math.ceil(end / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;
    offsets.push(start);
    end = start + length;
  }
  return { offsets, byteLength: end };
}

/**
 * Runs the steps' items in order through `run`, in batches of about {@link BATCH_BYTES} (or
 * `batchBytes`); reports each tensor once all its items are done and honours `signal` between
 * tensors (as one tensor at a time would), so a load aborted from a progress callback stops
 * before the next tensor.
 *
 * @example
 * ```ts
 * await runSteps(steps, (items) => file.runPlan(items), { path, onProgress, signal });
 * ```
 */
export async function runSteps(
  steps: readonly LoadStep[],
  run: (items: PlanItem[]) => Promise<void>,
  options: RunStepsOptions,
): Promise<void> {
  const bytesTotal = steps.reduce((sum, step) => sum + step.byteLength, 0);
  const batchBytes = options.batchBytes ?? BATCH_BYTES;
  let bytesDone = 0;
  let batch: PlanItem[] = [];
  let filled = 0;
  let pending: LoadStep[] = []; // tensors whose last item is in `batch`
  const checkAbort = () => {
    if (options.signal?.aborted) {
      throw new CryptoTensorsError("ERR_ABORTED", `loading ${options.path} was aborted`, {
        cause: options.signal.reason,
      });
    }
  };
  const flush = async (isLast: boolean) => {
    if (batch.length > 0) await run(batch);
    batch = [];
    filled = 0;
    const done = pending;
    pending = [];
    for (const [index, step] of done.entries()) {
      bytesDone += step.byteLength;
      options.onProgress?.({ tensor: step.name, bytesDone, bytesTotal });
      if (!(isLast && index === done.length - 1)) checkAbort();
    }
  };
  checkAbort();
  for (const [index, step] of steps.entries()) {
    for (const item of step.items) {
      batch.push(item);
      filled += item.kind === "read" ? item.length : item.request.length;
      if (filled >= batchBytes && item !== step.items[step.items.length - 1]) await flush(false);
    }
    pending.push(step);
    if (filled >= batchBytes) await flush(index === steps.length - 1);
  }
  await flush(true);
}

/**
 * Zeroes the alignment gaps between the tensors of an arena laid out by {@link arenaLayout}: the
 * loads overwrite every tensor's bytes, and reused memory must not show anything else.
 *
 * @example
 * ```ts
 * const layout = arenaLayout(lengths);
 * zeroGaps(arena, layout.offsets, lengths);
 * ```
 */
export function zeroGaps(
  arena: Uint8Array,
  offsets: readonly number[],
  lengths: readonly number[],
): void {
  let end = 0;
  offsets.forEach((offset, i) => {
    if (offset > end) arena.fill(0, end, offset);
    end = offset + (lengths[i] as number);
  });
  if (arena.length > end) arena.fill(0, end);
}
