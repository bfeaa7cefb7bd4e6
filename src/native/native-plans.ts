// What the native files (a mapped local file, staged remote chunks) share around the addon's
// plan() call: where destinations the addon may write directly come from, and one packed plan
// run with its data keys wiped as soon as the addon has copied them.
import type { NativeBinding, NativeFileHandle } from "./addon.js";
import type { PlanTable } from "./plan-table.js";

/** From this size on, a destination is an arena; below it a plain buffer staged through the pool costs less than a mapping. */
const ARENA_MIN_BYTES = 1 << 20;

/**
 * A destination of `byteLength` bytes for BackendFile.allocate: an arena (the addon's threads
 * decrypt straight into it) from 1 MiB on, a plain buffer below. `overwritten`: see
 * BackendFile.allocate (a recycled arena is then not zeroed first).
 *
 * @example
 * ```ts
 * const dest = allocateDestination(binding, tensor.byteLength, true);
 * ```
 */
export function allocateDestination(
  binding: NativeBinding,
  byteLength: number,
  overwritten = false,
): Uint8Array {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0)
    throw new RangeError("byteLength must be a non-negative safe integer");
  return byteLength >= ARENA_MIN_BYTES
    ? new Uint8Array(binding.allocateArena(byteLength, overwritten))
    : new Uint8Array(byteLength);
}

/**
 * Runs one packed plan on `handle`; resolves with the native status and the index of the failed
 * item (-1 if none). The packed keys are wiped once the addon has copied them, and again whatever
 * happens. `destPrivate`: see NativeFileHandle.plan.
 *
 * @example
 * ```ts
 * const { status, failed } = await runPackedPlan(handle, packPlan(handle.size, items), false);
 * ```
 */
export async function runPackedPlan(
  handle: NativeFileHandle,
  packed: PlanTable,
  destPrivate: boolean,
): Promise<{ status: number; failed: number }> {
  const failed = new Float64Array(1);
  try {
    const running = handle.plan(
      packed.table,
      packed.keys,
      packed.ivs,
      packed.tags,
      packed.dests,
      failed,
      destPrivate,
    );
    packed.keys.fill(0); // the addon copied them
    return { status: await running, failed: failed[0] ?? -1 };
  } finally {
    packed.keys.fill(0);
  }
}
