// The local-file ByteSource (node:fs): what the fallback backend reads, and the model for other
// sources. Opening never blocks on a FIFO and refuses anything but a regular file.
import { constants, promises as fs } from "node:fs";
import { CryptoTensorsError } from "../errors.js";
import {
  type ByteSource,
  checkSourceAborted,
  type SourceIdentity,
  type SourceReadOptions,
} from "./byte-source.js";

/** Largest single read: fs reads are capped below 2 GiB. */
const READ_SLICE = 1 << 30;

function ioError(what: string, error: unknown): CryptoTensorsError {
  const code = (error as { code?: unknown } | null)?.code;
  return new CryptoTensorsError(
    "ERR_IO",
    `${what} failed: ${typeof code === "string" ? code : String(error)}`,
    { cause: error },
  );
}

class FileSource implements ByteSource {
  readonly localPath: string;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly identity: SourceIdentity,
    readonly size: number,
  ) {
    this.localPath = identity.name;
  }

  async read(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: SourceReadOptions,
  ): Promise<void> {
    let done = 0;
    while (done < length) {
      checkSourceAborted(options?.signal, this.identity.name);
      const want = Math.min(length - done, READ_SLICE);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(dest, done, want, offset + done));
      } catch (error) {
        throw ioError(`reading ${this.identity.name}`, error);
      }
      if (bytesRead === 0) {
        throw new CryptoTensorsError(
          "ERR_FILE_TRUNCATED",
          `reading ${this.identity.name}: the file ended early (was it truncated while open?)`,
        );
      }
      done += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Opens a local regular file as a {@link ByteSource}. Errors: ERR_IO (missing, unreadable, not a
 * regular file).
 *
 * @example
 * ```ts
 * const source = await openFileSource("model.safetensors");
 * console.log(source.size, source.identity.version);
 * ```
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; regular files are unaffected.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw ioError(`opening ${path}`, error);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile())
      throw new CryptoTensorsError("ERR_IO", `opening ${path}: not a regular file`);
    const version = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
    return new FileSource(handle, { name: path, version }, Number(stats.size));
  } catch (error) {
    await handle.close();
    throw error instanceof CryptoTensorsError ? error : ioError(`opening ${path}`, error);
  }
}
