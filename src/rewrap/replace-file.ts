// Writing a rewrapped file to a new place atomically (through io/durable-file.ts). When the new
// header fits the old space the data need not move, so the whole file is cloned (a reflink on
// btrfs/XFS, an in-kernel copy elsewhere) and only the header region is patched; otherwise the
// data section is streamed behind the new header, read through the backend.
import { stat } from "node:fs/promises";
import { CryptoTensorsError } from "../errors.js";
import { writeAtomically } from "../io/durable-file.js";
import type { BackendFile } from "../native/backend.js";

/** Pieces in which the data section is streamed when it has to move. */
const COPY_PIECE = 8 * 1024 * 1024;

/**
 * Clones `source` to a temporary file beside `destination`, overwrites its first
 * `prefix.length` bytes (8-byte N ‖ header, same N as the source) with `prefix`, syncs and
 * renames it over `destination`. The source is not modified.
 *
 * @example
 * ```ts
 * await clonePatched("in.ct", "out.ct", paddedPrefix);
 * ```
 */
export async function clonePatched(
  source: string,
  destination: string,
  prefix: Uint8Array,
): Promise<void> {
  await writeAtomically(destination, (out) => out.write(prefix, 0), { cloneFrom: source });
}

/**
 * Writes `prefix` (new N ‖ header) and then the data section of `input` (the bytes from
 * `dataStart` on, read through the backend) to a temporary file beside `destination`, syncs and
 * renames it over `destination` (which may be the source). A source whose size changed since it
 * was opened is refused (ERR_BUSY).
 *
 * @example
 * ```ts
 * await streamWithPrefix(file, "in.ct", "in.ct", biggerPrefix, header.dataStart);
 * ```
 */
export async function streamWithPrefix(
  input: BackendFile,
  source: string,
  destination: string,
  prefix: Uint8Array,
  dataStart: number,
): Promise<void> {
  const info = await stat(source);
  if (info.size !== input.size)
    throw new CryptoTensorsError(
      "ERR_BUSY",
      `${source} changed while it was being rewrapped; nothing was written`,
    );
  await writeAtomically(
    destination,
    async (out) => {
      await out.write(prefix, 0);
      const piece = new Uint8Array(Math.min(COPY_PIECE, Math.max(1, input.size - dataStart)));
      for (let at = dataStart; at < input.size; at += piece.length) {
        const view = piece.subarray(0, Math.min(piece.length, input.size - at));
        await input.readInto(at, view.length, view);
        await out.write(view, prefix.length + at - dataStart);
      }
      // Keep the permissions of the file being replaced (or copied).
      await out.chmod(info.mode & 0o7777);
    },
    { mode: 0o600 },
  );
}
