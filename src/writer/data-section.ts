// Writes the data section of a file being saved: every tensor's bytes in layout order, sealed
// when the plan says so. The section is cut into batches of file-contiguous output (a few pieces
// of one or more tensors); a batch is produced (read, sealed by the backend's threads) into one of
// four buffers while the batches before it are being written, so that sealing hides behind the
// write and an encrypted save runs at the pace of a plaintext one. Small tensors share a batch, so
// a model of many 2 MiB projections pipelines as well as one huge tensor.
import { CryptoTensorsError } from "../errors.js";
import type { Backend, ReadSealJob, SealJob, WholeSealer } from "../native/backend.js";
import { allocateArena } from "../native/index.js";
import { releaseBatchBuffers, takeBatchBuffers } from "./batch-buffers.js";
import type { AtomicFile } from "../io/durable-file.js";
import { BLOCK, BlockWrites } from "./block-writes.js";
import type { SealedSlot, SealPlan } from "./seal-plan.js";
import { type ReadSealFile, readPiece, type TensorSource } from "./tensor-source.js";

/** Output bytes per batch: large enough for few, long writes. */
const BATCH_BYTES = 8 << 20;
/**
 * Batches in memory at once. With two, sealing batch N+2 could only start once batch N was on
 * disk, so every delay of the JS thread or of a seal job left the writes idle (a buffered 1.19 GB
 * save on 2 busy cores: 16-79 ms with no write in flight); with four, three batches queue ahead.
 */
const BUFFERS = 4;
/** Largest piece of a plain or v1 tensor (progress and abort are checked between pieces). */
const PIECE_BYTES = 4 << 20;
/**
 * Batch writes running or queued at once. The file's writes are serialised by its inode lock, but
 * a write already waiting in the kernel starts the moment the one before ends, where a chained one
 * waits for the JS thread: with one at a time a direct (O_DIRECT) save left the device idle for
 * 73-362 ms of ~450-950 (strace, load ~8); with two 10-53 ms, with three 2-35 ms. Each running
 * write holds a libuv thread; the fourth is left to the seal jobs (and convertFile's reads).
 */
const WRITES_IN_FLIGHT = 3;
/**
 * Pending sealing work that a file source (convertFile) hands to the backend at once rather than
 * with the batch: as much as the pool spreads over its threads (native/huge-pages.h
 * kParallelThreshold). Smaller pieces (norms, biases) join the next job; larger ones are sealed
 * while the next piece is read, as when every piece was its own job (sealing all of them at the
 * batch's end would make a 2 MiB piece's seal wait for the next piece's read).
 */
const SEAL_EARLY_BYTES = 1 << 20;
/** Pieces per batch at most: one `writev` stays well under the kernel's iovec limit. */
const MAX_SEGMENTS = 512;
/** Smallest section written with O_DIRECT (block-writes.ts): below it the page cache costs little. */
const DIRECT_MIN_BYTES = 1 << 20;

/** One tensor of the section: where its bytes go and how they are produced. */
export interface SectionTensor {
  name: string;
  /** Absolute file position of the tensor's first byte. */
  position: number;
  length: number;
  source: TensorSource;
  /** Present when the tensor is encrypted. */
  slot?: SealedSlot | undefined;
  /** Fed the plaintext of a tensor written unencrypted in an encrypted file. */
  hash?: { update(bytes: Uint8Array): unknown } | undefined;
}

export interface SectionHooks {
  /** Before each piece, with the tensor's bytes produced so far: checks abort, reports progress. */
  step(tensor: SectionTensor, bytesDone: number): void;
  /** Once every byte of a tensor has been produced (its tags and digest are final). */
  tensorDone(tensor: SectionTensor): void;
  /**
   * Once the first batch's write is queued: work that the data does not need (the key wraps) can
   * run while it goes out. Must not throw; anything slow should wait for a later turn of the loop
   * (the write itself starts only once this call has returned).
   */
  firstWrite?(): void;
  /**
   * Once every tensor is done, while the last batches are still being written: the header can be
   * signed and written meanwhile (the section waits for it too, and never leaves it in flight).
   * Every batch write has been started when it is called, so work that holds the JS thread here
   * delays no write.
   */
  allDone?(): Promise<void>;
}

/**
 * Produces and writes every tensor's bytes at its position in `out`, filling the plan's tags.
 * Returns once everything is written; on any error, once nothing is in flight any more.
 *
 * @example
 * ```ts
 * await writeDataSection(out, backend, plan, tensors, { step: () => {}, tensorDone: () => {} });
 * ```
 */
export async function writeDataSection(
  out: AtomicFile,
  backend: Backend,
  plan: SealPlan | null,
  tensors: readonly SectionTensor[],
  hooks: SectionHooks,
): Promise<void> {
  const chunkSize = plan?.chunkSize ?? 0;
  const total = tensors.reduce((sum, t) => sum + t.length, 0);
  // A batch must hold at least one whole chunk; never more than the section needs.
  const capacity = Math.max(1, Math.min(total, Math.max(BATCH_BYTES, chunkSize)));
  // Addon arenas on the native backend: a source read through this package's reader (convertFile)
  // decrypts or copies straight into them, where other memory goes through staging windows. They
  // are page-aligned, so whole blocks of them can be written with O_DIRECT: every batch is then
  // laid out in its buffer (after the partial block carried from the batch before).
  const native = backend.name === "native";
  const first = tensors[0];
  const blocks =
    native && first && total >= DIRECT_MIN_BYTES
      ? await BlockWrites.open(out, first.position)
      : null;
  const size = capacity + (blocks ? BLOCK : 0);
  // Reused from the last save when there is one (batch-buffers.ts: fresh ones cost faults and GCs).
  const kind = native ? "arena" : "heap";
  const buffers = takeBatchBuffers(kind, BUFFERS, size, (n) =>
    native ? new Uint8Array(allocateArena(n)) : new Uint8Array(n),
  );
  // How far each buffer holds bytes of ours (plaintext read into it, or ciphertext): wiped at the end.
  const used = buffers.map(() => 0);
  // The write of each buffer's batch (those of the last WRITES_IN_FLIGHT batches may be running).
  const writing: Array<Promise<void>> = buffers.map(() => Promise.resolve());
  // Starts the batch writes still waiting for their turn (see the end of the loop).
  const waiting = new Set<() => void>();
  let whole: WholeSealer | null = null;
  let index = 0;
  let offset = 0; // within tensors[index]
  try {
    for (let batch = 0; index < tensors.length; batch++) {
      const slotOfBuffer = batch % BUFFERS;
      const buffer = buffers[slotOfBuffer] as Uint8Array;
      // The buffer's previous batch must be on disk before it is refilled.
      await writing[slotOfBuffer];
      const segments: Uint8Array[] = [];
      const seals: Array<Promise<void>> = [];
      // Chunked pieces not yet handed to the backend: sealed together (one native job for many
      // small pieces) at the batch's end or, for a source that must be waited for, as soon as they
      // make up SEAL_EARLY_BYTES (so that sealing overlaps the next piece's read).
      let pending: SealJob[] = [];
      let pendingBytes = 0;
      const flush = (): void => {
        if (pending.length === 0) return;
        seals.push(backend.sealAll(pending));
        pending = [];
        pendingBytes = 0;
      };
      // Pieces of a file that reads and seals them itself (convertFile's local plaintext input):
      // one native job per batch and file, each piece encrypted as it lands (tensor-source.ts).
      let fused: ReadSealJob[] = [];
      let fusedFile: ReadSealFile | null = null;
      const flushFused = (): void => {
        if (fusedFile === null || fused.length === 0) return;
        seals.push(fusedFile.readSealRanges(fused));
        fused = [];
        fusedFile = null;
      };
      const start = (tensors[index] as SectionTensor).position + offset;
      // With direct writes the batch's bytes follow the carried partial block, and all of them
      // are copied into the buffer (the rest of the buffer may hold plaintext: wiped at the end).
      const lead = blocks ? blocks.begin(buffer) : 0;
      if (blocks) used[slotOfBuffer] = size;
      const place = (bytes: Uint8Array, region: Uint8Array): Uint8Array => {
        if (!blocks) return bytes;
        if (bytes.length !== region.length)
          throw new CryptoTensorsError("ERR_INTERNAL", "a sealed piece changed length");
        region.set(bytes);
        return region;
      };
      let fill = 0;
      try {
        while (index < tensors.length && fill < capacity && segments.length < MAX_SEGMENTS) {
          const tensor = tensors[index] as SectionTensor;
          const chunked = tensor.slot !== undefined && chunkSize > 0;
          const remaining = tensor.length - offset;
          // Pieces start at fixed multiples within their tensor (whole output chunks for v2), never
          // where a batch happens to end: a source that is itself chunked (convertFile from an
          // encrypted file) then reads whole chunks, each decrypted once, straight into the batch.
          const pieceLimit = chunked
            ? Math.max(1, Math.floor(PIECE_BYTES / chunkSize)) * chunkSize
            : PIECE_BYTES;
          const length = Math.min(remaining, pieceLimit);
          if (length > capacity - fill && fill > 0) break; // the piece starts the next batch
          hooks.step(tensor, offset);
          const region = buffer.subarray(lead + fill, lead + fill + length);
          const sealedRead = native && chunked && length > 0 ? tensor.source.sealedRead : undefined;
          if (sealedRead) {
            if (fusedFile !== sealedRead.file) flushFused();
            fusedFile = sealedRead.file;
            used[slotOfBuffer] = size;
            fused.push(readSealJob(plan as SealPlan, tensor, offset, sealedRead.offset, region));
            segments.push(region);
          } else if (length > 0 || chunked) {
            const plain = await readPiece(tensor.source, offset, offset + length, region);
            if (plain.buffer === buffer.buffer) used[slotOfBuffer] = size;
            if (chunked) {
              used[slotOfBuffer] = size;
              pending.push(sealJob(plan as SealPlan, tensor, offset, plain, region));
              pendingBytes += length;
              if (pendingBytes >= SEAL_EARLY_BYTES && !tensor.source.inMemory) flush();
              segments.push(region);
            } else if (tensor.slot) {
              // v1: one AEAD over the whole tensor, fed piece by piece (FORMAT.md §3.3).
              whole ??= backend.wholeSealer(
                (plan as SealPlan).algorithm,
                tensor.slot.dataKey,
                tensor.slot.entry.iv as Buffer,
              );
              segments.push(place(whole.update(plain), region));
            } else {
              tensor.hash?.update(plain);
              segments.push(place(plain, region));
            }
          }
          fill += length;
          offset += length;
          if (offset === tensor.length) {
            if (whole && tensor.slot) tensor.slot.entry.tag = Buffer.from(whole.final());
            whole = null;
            // Empty v1 tensors carry no AEAD at all (§3.5): their empty tag stays.
            hooks.tensorDone(tensor);
            index++;
            offset = 0;
          }
        }
        flush();
        flushFused();
      } catch (error) {
        // No seal job may still be writing into the buffer once this call has returned.
        await Promise.allSettled(seals);
        throw error;
      }
      // Every seal job of the batch has ended before its buffer is written.
      const failed = (await Promise.allSettled(seals)).find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const pieces = segments.filter((s) => s.length > 0);
      const writes = blocks
        ? blocks.finish(buffer, start, lead + fill, index >= tensors.length)
        : () => out.writev(pieces, start);
      // Each write starts once the one WRITES_IN_FLIGHT batches before it has ended (a failed write
      // stops the chain; every later one reports its failure when awaited).
      const after = writing[(batch + BUFFERS - WRITES_IN_FLIGHT) % BUFFERS] as Promise<void>;
      let startNow = (): void => undefined;
      const turn = new Promise<void>((resolve) => {
        startNow = resolve;
      });
      waiting.add(startNow);
      const written = Promise.race([after, turn]).then(() => {
        waiting.delete(startNow);
        return writes();
      });
      writing[slotOfBuffer] = written;
      // Attach a handler now: a failed write is reported when awaited, never as unhandled.
      written.catch(() => undefined);
      if (batch === 0) hooks.firstWrite?.();
    }
    // Every batch is produced: the writes still waiting for their turn start now (no seal job
    // needs a libuv thread any more), so that the header work of allDone, which holds the JS
    // thread for ~3-5 ms, cannot hold back the start of a write (a chained write is started by the
    // JS thread; the device then idled 2-6 ms at the end of an encrypted save).
    for (const start of waiting) start();
    // A turn of the loop: every microtask has run, so every write has been handed to libuv.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Both settle before this returns, so that nothing is in flight when the file is discarded.
    const ends = await Promise.allSettled([...writing, hooks.allDone?.()]);
    const failure = ends.find((end) => end.status === "rejected");
    if (failure) throw (failure as PromiseRejectedResult).reason;
  } finally {
    await Promise.allSettled(writing);
    await blocks?.close().catch(() => undefined);
    for (const [i, buffer] of buffers.entries()) buffer.fill(0, 0, used[i]);
    // Nothing reads or writes them any more: every seal and write has settled.
    releaseBatchBuffers(kind, buffers);
  }
}

/** The job that reads `ciphertext.length` bytes of `tensor` from `offset` (its bytes start at file position `position`) and seals them into `ciphertext`. */
function readSealJob(
  plan: SealPlan,
  tensor: SectionTensor,
  offset: number,
  position: number,
  ciphertext: Uint8Array,
): ReadSealJob {
  const {
    plaintext: _,
    ciphertext: dest,
    ...seal
  } = sealJob(plan, tensor, offset, ciphertext, ciphertext);
  return { ...seal, fileOffset: position + offset, length: dest.length, dest };
}

/** The job that seals `plain` (whole chunks of `tensor` from `offset`) into `ciphertext`, filling their tags. */
function sealJob(
  plan: SealPlan,
  tensor: SectionTensor,
  offset: number,
  plain: Uint8Array,
  ciphertext: Uint8Array,
): SealJob {
  const slot = tensor.slot as SealedSlot;
  const chunkSize = plan.chunkSize as number;
  const firstChunk = offset / chunkSize;
  // An empty tensor is one seal of the empty string (FORMAT.md §3.5): one chunk, one tag.
  const chunks = Math.max(1, Math.ceil(plain.length / chunkSize));
  return {
    algorithm: plan.algorithm,
    key: slot.dataKey,
    baseIv: (slot.entry.baseIv as Buffer).subarray(0, 12),
    firstChunk,
    chunkSize,
    plaintext: plain,
    ciphertext,
    tags: (slot.entry.tags as Buffer).subarray(firstChunk * 16, (firstChunk + chunks) * 16),
  };
}
