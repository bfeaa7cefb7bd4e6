// The writer's batch buffers, kept between saves for a moment. Four fresh 8 MiB addon arenas per
// save cost more than their allocation: their first touch faults in and zeroes 32 MiB, and V8,
// told of 32 MiB of new external memory, answers with "external memory pressure" collections
// (1.5-13 ms each, on the JS thread, before the first batch is sealed). A process that saves
// several files in a row (convert a sharded model, benchmarks, a training loop's checkpoints)
// reuses the last save's set instead; one set at most is kept, wiped, and dropped after 5 s
// without a save, so an idle process holds none of it.

/**
 * How long an unused set is kept (ms): longer than what usually separates two saves of a batch
 * job (a 1.2 GB save, or the benchmark's page-cache baseline between two saves, takes 0.4-1.5 s).
 */
export const KEEP_IDLE_MS = 5000;
/** Largest buffer kept (bytes): the default batch plus a carried block; larger sets are not kept. */
const KEEP_MAX_BYTES = (8 << 20) + 4096;

/** Where a buffer's memory comes from: an addon arena (page-aligned, native backend) or the JS heap. */
export type BufferKind = "arena" | "heap";

interface KeptSet {
  kind: BufferKind;
  buffers: Uint8Array[];
}

let kept: KeptSet | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;

/**
 * `count` buffers of at least `size` bytes: the kept set when it fits, else fresh ones from
 * `allocate`. Give them back with {@link releaseBatchBuffers} once nothing uses them any more
 * (every byte of ours in them wiped).
 *
 * @example
 * ```ts
 * const buffers = takeBatchBuffers("heap", 4, 8 << 20, (n) => new Uint8Array(n));
 * try { ... } finally { wipe(buffers); releaseBatchBuffers("heap", buffers); }
 * ```
 */
export function takeBatchBuffers(
  kind: BufferKind,
  count: number,
  size: number,
  allocate: (size: number) => Uint8Array,
): Uint8Array[] {
  const set = kept;
  if (set && set.kind === kind && set.buffers.length === count) {
    if (set.buffers.every((buffer) => buffer.length >= size)) {
      kept = null;
      return set.buffers;
    }
  }
  return Array.from({ length: count }, () => allocate(size));
}

/**
 * Keeps `buffers` (already wiped) for the next save, unless they are larger than a default batch
 * or a set of buffers at least as large is kept already; an unused set is dropped after
 * {@link KEEP_IDLE_MS}.
 *
 * @example
 * ```ts
 * releaseBatchBuffers("arena", buffers);
 * ```
 */
export function releaseBatchBuffers(kind: BufferKind, buffers: Uint8Array[]): void {
  const size = Math.min(...buffers.map((buffer) => buffer.length));
  if (buffers.length === 0 || Math.max(...buffers.map((b) => b.length)) > KEEP_MAX_BYTES) return;
  // A small save's set never displaces a default-sized one.
  if (kept !== null && Math.min(...kept.buffers.map((buffer) => buffer.length)) >= size) return;
  kept = { kind, buffers };
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(dropKeptBatchBuffers, KEEP_IDLE_MS);
  // The timer never keeps the process alive.
  timer.unref?.();
}

/**
 * @internal Drops the kept set now (tests; a process that wants the memory back at once).
 *
 * @example
 * ```ts
 * dropKeptBatchBuffers();
 * ```
 */
export function dropKeptBatchBuffers(): void {
  kept = null;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}
