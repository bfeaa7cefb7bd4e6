// Writing a rewrapped file to a new place atomically: a temporary file beside the destination,
// synced, then renamed over it. When the new header fits the old space the data need not move,
// so the whole file is cloned (fs.copyFile with COPYFILE_FICLONE: a reflink on btrfs/XFS, an
// in-kernel copy_file_range/sendfile elsewhere) and only the header region is patched; otherwise
// the data section is streamed behind the new header.
import { constants } from "node:fs";
import { chmod, copyFile, open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { syncDirectory } from "../writer/atomic-file.js";

/** Pieces in which the data section is streamed when it has to move. */
const COPY_PIECE = 8 * 1024 * 1024;

function tempPathFor(destination: string): string {
  return join(
    dirname(destination),
    `.${basename(destination)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

async function commit(temp: string, destination: string): Promise<void> {
  await rename(temp, destination);
  await syncDirectory(destination);
}

async function guarded<T>(temp: string, destination: string, body: () => Promise<T>): Promise<T> {
  try {
    const result = await body();
    await commit(temp, destination);
    return result;
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (error instanceof CryptoTensorsError) throw error;
    throw new CryptoTensorsError(
      "ERR_IO",
      `cannot write ${destination}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

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
  const temp = tempPathFor(destination);
  await guarded(temp, destination, async () => {
    await copyFile(source, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    const handle = await open(temp, "r+");
    try {
      await writeFully(handle, prefix, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Writes `prefix` (new N ‖ header) and then the data section of `source` (the bytes from
 * `dataStart` on) to a temporary file beside `destination`, syncs and renames it over
 * `destination` (which may be `source`). `expectedSize` guards against a source that changed.
 *
 * @example
 * ```ts
 * await streamWithPrefix("in.ct", "in.ct", biggerPrefix, header.dataStart, size);
 * ```
 */
export async function streamWithPrefix(
  source: string,
  destination: string,
  prefix: Uint8Array,
  dataStart: number,
  expectedSize: number,
): Promise<void> {
  const temp = tempPathFor(destination);
  const input = await open(source, "r");
  try {
    const info = await input.stat();
    if (info.size !== expectedSize)
      throw new CryptoTensorsError(
        "ERR_BUSY",
        `${source} changed while it was being rewrapped; nothing was written`,
      );
    await guarded(temp, destination, async () => {
      const output = await open(temp, "wx", 0o600);
      try {
        await writeFully(output, prefix, 0);
        const piece = Buffer.allocUnsafe(
          Math.min(COPY_PIECE, Math.max(1, expectedSize - dataStart)),
        );
        for (let at = dataStart; at < expectedSize; ) {
          const { bytesRead } = await input.read(
            piece,
            0,
            Math.min(piece.length, expectedSize - at),
            at,
          );
          if (bytesRead === 0)
            throw new CryptoTensorsError(
              "ERR_FILE_TRUNCATED",
              `${source} ended before its data section did`,
            );
          await writeFully(output, piece.subarray(0, bytesRead), prefix.length + at - dataStart);
          at += bytesRead;
        }
        await output.sync();
      } finally {
        await output.close();
      }
      // Keep the permissions of the file being replaced (or copied).
      await chmod(temp, (await stat(source)).mode & 0o7777);
    });
  } finally {
    await input.close();
  }
}
