// A ByteSource over bytes in memory: proves that a source other than a local file plugs in under
// the backends (as an HTTP range source will), and counts what was read and whether it was closed.
import type { ByteSource, SourceReadOptions } from "../../src/source/byte-source.js";

export interface MemorySource extends ByteSource {
  /** Number of read() calls so far. */
  reads: number;
  closed: boolean;
}

/** A source serving `bytes`; `delayMs` makes each read wait (to test cancellation). */
export function memorySource(
  bytes: Uint8Array,
  name = "memory://model",
  delayMs = 0,
): MemorySource {
  const source: MemorySource = {
    identity: { name, version: `${bytes.length}` },
    size: bytes.length,
    reads: 0,
    closed: false,
    async read(offset: number, length: number, dest: Uint8Array, options?: SourceReadOptions) {
      source.reads++;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (options?.signal?.aborted) {
        const { CryptoTensorsError } = await import("../../src/errors.js");
        throw new CryptoTensorsError("ERR_ABORTED", `reading ${name} was aborted`);
      }
      dest.set(bytes.subarray(offset, offset + length));
    },
    async close() {
      source.closed = true;
    },
  };
  return source;
}
