// Every output is written to a temporary file beside its destination and renamed into place only
// once complete and synced, so a crash or an error never leaves a half-written file at `path`.
import { randomBytes } from "node:crypto";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";

/** A file being written: positional writes, then `commit()` (fsync + rename) or `discard()`. */
export class AtomicFile {
  private constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<AtomicFile> {
    const tempPath = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
    );
    try {
      const handle = await open(tempPath, "wx", 0o644);
      return new AtomicFile(path, tempPath, handle);
    } catch (cause) {
      throw new CryptoTensorsError(
        "ERR_IO",
        `cannot create a temporary file next to ${path}: ${describe(cause)}`,
        { cause },
      );
    }
  }

  /** Writes all of `bytes` at `position`. */
  async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(
        bytes,
        done,
        bytes.length - done,
        position + done,
      );
      done += bytesWritten;
    }
  }

  /** Flushes, closes and renames over the destination. */
  async commit(): Promise<void> {
    try {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.path);
      await syncDirectory(this.path);
    } catch (cause) {
      await this.discard();
      throw new CryptoTensorsError("ERR_IO", `cannot write ${this.path}: ${describe(cause)}`, {
        cause,
      });
    }
  }

  /** Closes and removes the temporary file; the destination is left untouched. */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

/** Runs `body` against a fresh atomic file; commits on success, discards on any error. */
export async function writeAtomically<T>(
  path: string,
  body: (file: AtomicFile) => Promise<T>,
): Promise<T> {
  const file = await AtomicFile.create(path);
  try {
    const result = await body(file);
    await file.commit();
    return result;
  } catch (error) {
    await file.discard();
    if (
      error instanceof CryptoTensorsError ||
      error instanceof TypeError ||
      error instanceof RangeError
    )
      throw error;
    throw new CryptoTensorsError("ERR_IO", `cannot write ${path}: ${describe(error)}`, {
      cause: error,
    });
  }
}

/** Makes a rename or unlink in `path`'s directory durable (fsync of the directory). */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is then as durable as they allow.
  } finally {
    await dir.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
