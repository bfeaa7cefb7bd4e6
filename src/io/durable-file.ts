// The one way this package puts bytes on disk durably: every output is written fully to a
// temporary file beside its destination, the file is fsynced, renamed over the destination and
// the directory fsynced, so a crash or an error never leaves a half-written file at the
// destination. The writer, rewrap (clone or copy) and the rewrap journal all use these helpers.
import { constants } from "node:fs";
import { copyFile, type FileHandle, open, rename, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";

/**
 * Writes all of `bytes` at `position` (a single write may be short).
 *
 * @example
 * ```ts
 * await writeFully(handle, header, 0);
 * ```
 */
export async function writeFully(
  handle: FileHandle,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes all of `pieces`, back to back, from `position` (one `writev` when it is not short).
 *
 * @example
 * ```ts
 * await writevFully(handle, [ciphertextA, ciphertextB], dataStart);
 * ```
 */
export async function writevFully(
  handle: FileHandle,
  pieces: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let rest = pieces.filter((piece) => piece.length > 0);
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    if (bytesWritten <= 0)
      throw new CryptoTensorsError("ERR_IO", "the file system accepted no bytes (disk full?)");
    at += bytesWritten;
    // A short write: drop what was written and go on from there.
    let skip = bytesWritten;
    while (rest.length > 0 && skip >= (rest[0] as Uint8Array).length) {
      skip -= (rest[0] as Uint8Array).length;
      rest = rest.slice(1);
    }
    if (skip > 0) rest = [(rest[0] as Uint8Array).subarray(skip), ...rest.slice(1)];
  }
}

/**
 * A fresh temporary name in the destination's directory (so that the final rename stays on one
 * filesystem and is atomic), hidden and unique per process and call.
 *
 * @example
 * ```ts
 * tempPathBeside("/models/m.ct"); // "/models/.m.ct.1234.a1b2c3d4e5f6.tmp"
 * ```
 */
export function tempPathBeside(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
}

/**
 * Makes a rename or unlink in `path`'s directory durable (fsync of the directory).
 *
 * @example
 * ```ts
 * await rename(temp, path);
 * await syncDirectory(path);
 * ```
 */
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

/** How {@link AtomicFile} starts its temporary file. */
export interface AtomicFileOptions {
  /**
   * Permission bits the destination gets at commit (default 0o644), unless `chmod` was called.
   * The temporary file itself is created 0600: partial output (decrypted weights) is never
   * readable by other users while it is being written.
   */
  mode?: number;
  /** Start from a copy of this file (a reflink where the filesystem has them) instead of empty. */
  cloneFrom?: string;
}

/**
 * A file being written: positional writes, then `commit()` (fsync, rename, directory fsync) or
 * `discard()`.
 *
 * @example
 * ```ts
 * const out = await AtomicFile.create("model.ct");
 * try { await out.write(bytes, 0); await out.commit(); } catch (e) { await out.discard(); throw e; }
 * ```
 */
export class AtomicFile {
  /** Mode set at commit; null once `chmod` chose one, or for a clone (it keeps its source's). */
  private finalMode: number | null;

  private constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly handle: FileHandle,
    finalMode: number | null,
  ) {
    this.finalMode = finalMode;
  }

  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const tempPath = tempPathBeside(path);
    try {
      if (options.cloneFrom !== undefined) {
        // COPYFILE_FICLONE: a reflink on btrfs/XFS, an in-kernel copy elsewhere.
        await copyFile(
          options.cloneFrom,
          tempPath,
          constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE,
        );
      }
      const handle = await open(tempPath, options.cloneFrom === undefined ? "wx" : "r+", 0o600);
      const finalMode = options.cloneFrom === undefined ? (options.mode ?? 0o644) : null;
      return new AtomicFile(path, tempPath, handle, finalMode);
    } catch (cause) {
      await unlink(tempPath).catch(() => undefined);
      throw new CryptoTensorsError(
        "ERR_IO",
        `cannot create a temporary file next to ${path}: ${describe(cause)}`,
        { cause },
      );
    }
  }

  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void> {
    return writeFully(this.handle, bytes, position);
  }

  /** Writes all of `pieces`, back to back, from `position`. */
  writev(pieces: readonly Uint8Array[], position: number): Promise<void> {
    return writevFully(this.handle, pieces, position);
  }

  /**
   * A second descriptor on the temporary file whose writes bypass the page cache (O_DIRECT: whole,
   * aligned blocks only), or null where the platform has no O_DIRECT or the file system refuses
   * it. The caller closes it before `commit()`; `commit()`'s fsync covers its writes too.
   */
  async openDirect(): Promise<FileHandle | null> {
    const direct = (constants as { O_DIRECT?: number }).O_DIRECT;
    if (direct === undefined) return null;
    try {
      return await open(this.tempPath, constants.O_WRONLY | direct);
    } catch {
      return null;
    }
  }

  /** Sets the permission bits the destination will have. */
  chmod(mode: number): Promise<void> {
    this.finalMode = null;
    return this.handle.chmod(mode);
  }

  /** Flushes, closes and renames over the destination, then syncs the directory. */
  async commit(): Promise<void> {
    try {
      if (this.finalMode !== null) await this.handle.chmod(this.finalMode);
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

/**
 * Runs `body` against a fresh atomic file for `path`; commits on success, discards on any error
 * (errors that are not typed become ERR_IO).
 *
 * @example
 * ```ts
 * await writeAtomically("model.ct", (out) => out.write(bytes, 0));
 * ```
 */
export async function writeAtomically<T>(
  path: string,
  body: (file: AtomicFile) => Promise<T>,
  options: AtomicFileOptions = {},
): Promise<T> {
  return runAtomically(path, await AtomicFile.create(path, options), body);
}

/**
 * {@link writeAtomically} with `prepare` run while the temporary file is being created: the
 * create (a thread-pool round trip, 1-10 ms after a large file was removed) and the caller's
 * planning overlap. `body` gets what `prepare` returned. If `prepare` fails, its error is thrown
 * (not a failure to create the file: argument errors win, as if nothing had been attempted) and
 * the temporary file, if it was created, is removed.
 *
 * @example
 * ```ts
 * await writeAtomicallyPrepared("model.ct", async () => buildHeader(), (out, header) => out.write(header, 0));
 * ```
 */
export async function writeAtomicallyPrepared<P, T>(
  path: string,
  prepare: () => Promise<P>,
  body: (file: AtomicFile, prepared: P) => Promise<T>,
  options: AtomicFileOptions = {},
): Promise<T> {
  const creating = AtomicFile.create(path, options);
  let prepared: P;
  try {
    prepared = await prepare();
  } catch (error) {
    const file = await creating.catch(() => null);
    await file?.discard();
    throw error;
  }
  const file = await creating;
  return runAtomically(path, file, (out) => body(out, prepared));
}

async function runAtomically<T>(
  path: string,
  file: AtomicFile,
  body: (file: AtomicFile) => Promise<T>,
): Promise<T> {
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
