// Writes a data section's batches with O_DIRECT where the file system allows it: whole 4 KiB
// blocks of the (page-aligned) batch buffers go from memory to the device without the kernel's
// copy into the page cache — on a 2-core machine that copy costs as much CPU as sealing, and
// fsync no longer waits for the writeback of 1 GB of dirty pages. The partial blocks at the two
// ends of the section go through the page cache; the partial block at the end of a batch is
// carried to the head of the next batch's buffer and written with it. A file system that refuses
// O_DIRECT (tmpfs, some FUSE) gets ordinary writes of the same bytes, at the same positions.
import type { FileHandle } from "node:fs/promises";
import { type AtomicFile, writeFully } from "../io/durable-file.js";

/** Alignment of direct writes: file position, length and memory address (4 KiB covers 512 B devices too). */
export const BLOCK = 4096;

const alignDown = (n: number): number => n - (n % BLOCK);
const alignUp = (n: number): number => alignDown(n + BLOCK - 1);

/**
 * The batches of a data section, written block by block. Use: `begin(buffer)` before filling a
 * buffer (the batch's own bytes go from the returned offset), `finish(...)` once they are in it
 * (returns the writes to run, in order after the previous batch's), `close()` at the end.
 *
 * @example
 * ```ts
 * const blocks = await BlockWrites.open(out, dataStart);
 * const lead = blocks.begin(buffer); // fill buffer[lead, lead + n)
 * await blocks.finish(buffer, position, lead + n, true)();
 * await blocks.close();
 * ```
 */
export class BlockWrites {
  #direct: FileHandle | null;
  /** Bytes at the head of the next buffer before the batch's own: its start's offset in its block. */
  #lead: number;
  /** Whether those bytes are data carried from the batch before (else they are the header's). */
  #leadIsData = false;
  #carry: Uint8Array | null = null;

  private constructor(
    private readonly out: AtomicFile,
    direct: FileHandle,
    dataStart: number,
  ) {
    this.#direct = direct;
    this.#lead = dataStart % BLOCK;
  }

  /** Direct writes to `out` from file position `dataStart` on, or null where O_DIRECT is refused. */
  static async open(out: AtomicFile, dataStart: number): Promise<BlockWrites | null> {
    const direct = await out.openDirect();
    return direct ? new BlockWrites(out, direct, dataStart) : null;
  }

  /** Puts the carried partial block at the head of `buffer`; the batch's bytes start after it. */
  begin(buffer: Uint8Array): number {
    if (this.#carry) buffer.set(this.#carry, 0);
    this.#carry = null;
    return this.#lead;
  }

  /**
   * The writes of the batch in `buffer[0, end)`, whose own bytes start at file position `start`
   * (`buffer[0]` is at `start - lead`, a block boundary). Call before the next `begin`; the
   * returned function performs the writes (chain it after the previous batch's). `buffer` must
   * stay unchanged until they are done; the carried partial block is copied out by `begin`.
   */
  finish(buffer: Uint8Array, start: number, end: number, last: boolean): () => Promise<void> {
    const base = start - this.#lead;
    const validFrom = this.#leadIsData ? 0 : this.#lead;
    const jobs: Array<[bytes: Uint8Array, position: number, direct: boolean]> = [];
    // The section's first block also holds the header's end: through the page cache.
    let covered = validFrom;
    if (validFrom % BLOCK !== 0) {
      covered = Math.min(alignUp(validFrom), end);
      jobs.push([buffer.subarray(validFrom, covered), base + validFrom, false]);
    }
    const blocksEnd = alignDown(end);
    if (blocksEnd > covered) {
      jobs.push([buffer.subarray(covered, blocksEnd), base + covered, true]);
      covered = blocksEnd;
    }
    if (covered < end && last) {
      jobs.push([buffer.subarray(covered, end), base + covered, false]);
    } else if (covered < end) {
      // A partial block (covered === blocksEnd here): written with the next batch.
      this.#carry = buffer.subarray(covered, end);
      this.#lead = end - covered;
      this.#leadIsData = true;
    } else {
      // Everything up to `end` is written: the next batch starts where this one ends.
      this.#lead = (base + end) % BLOCK;
      this.#leadIsData = this.#lead === 0;
    }
    // The direct blocks first: the device starts on them at once, and the small page-cache
    // pieces (disjoint ranges) follow without holding them back by a round trip.
    jobs.sort((a, b) => Number(b[2]) - Number(a[2]));
    return async () => {
      for (const [bytes, position, direct] of jobs) {
        if (bytes.length === 0) continue;
        if (direct) await this.#writeDirect(bytes, position);
        else await this.out.write(bytes, position);
      }
    };
  }

  /** Closes the direct descriptor (after every write has settled). */
  async close(): Promise<void> {
    const direct = this.#direct;
    this.#direct = null;
    await direct?.close();
  }

  async #writeDirect(bytes: Uint8Array, position: number): Promise<void> {
    const direct = this.#direct;
    if (direct) {
      try {
        await writeFully(direct, bytes, position);
        return;
      } catch (error) {
        // EINVAL: this file system wants another alignment, or no O_DIRECT write at all. The same
        // bytes then go through the page cache, now and for the rest of the section (a write that
        // was running on the descriptor when another one gave it up is redone the same way).
        const refused = (error as NodeJS.ErrnoException).code === "EINVAL";
        if (!refused && this.#direct === direct) throw error;
        if (this.#direct === direct) {
          this.#direct = null;
          await direct.close().catch(() => undefined);
        }
      }
    }
    await this.out.write(bytes, position);
  }
}
