// What a BackendFile reads from. A local file today (file-source.ts); an HTTP resource read by
// range requests, or any other store, tomorrow: a new source implements ByteSource and plugs in
// under the backend without touching the reader, slice planning or decryption. The native
// backend keeps its fast path for local paths (it maps the file itself); every other source is
// read through ByteSource.read into caller memory and decrypted with the same checks.
import { CryptoTensorsError } from "../errors.js";

/** Who a source is, for messages and for noticing that its bytes changed between reads. */
export interface SourceIdentity {
  /** Names the source in messages: a file path, or a URL without credentials or query secrets. */
  readonly name: string;
  /**
   * Changes whenever the content may have changed: a strong HTTP ETag (or Last-Modified), or
   * `device:inode:size:mtime` of a local file. A source that serves ranges must pin it (e.g.
   * `If-Match`) so that one open never mixes two versions; a cache may key on it.
   */
  readonly version: string;
}

/** Options of a single {@link ByteSource.read}. */
export interface SourceReadOptions {
  /** Aborts this read: it rejects with ERR_ABORTED and leaves `dest` partly written. */
  signal?: AbortSignal | undefined;
}

/** One destination of {@link ByteSource.readPieces}: `[offset, offset + length)` into `dest[0 .. length)`. */
export interface SourcePiece {
  offset: number;
  length: number;
  dest: Uint8Array;
  /**
   * `dest` is the library's own memory (never a caller's buffer, which could be transferred
   * while a read is pending): a source may have the kernel receive bytes into it directly.
   */
  owned?: boolean | undefined;
  /**
   * These bytes are ciphertext (an encrypted tensor's data): a source may keep them on disk
   * (`remote.cache`). Headers and plain tensors are never marked.
   */
  ciphertext?: boolean | undefined;
  /**
   * How to decrypt this piece where it lands, for a transport that can run it on the thread that
   * received the bytes (the addon's http receiver): a packed plan (native/plan-table.ts) of one
   * in-place decryption over `handle` (an arena view of `dest`'s memory). A source that runs it
   * sets `done` before it reports the piece; otherwise the caller decrypts as it would anyway.
   */
  decrypt?: InPlaceDecrypt | undefined;
}

/** See {@link SourcePiece.decrypt}: the fields are those the addon's plan() takes. */
export interface InPlaceDecrypt {
  readonly handle: object;
  readonly table: Float64Array;
  readonly keys: Uint8Array;
  readonly ivs: Uint8Array;
  readonly tags: Uint8Array;
  readonly dests: Uint8Array[];
  readonly destPrivate: true;
  /** Set once the piece is decrypted in place (its plan must not run again). */
  done: boolean;
}

/**
 * A piece's in-place decryption (SourcePiece.decrypt) failed where it landed: `status` is the
 * addon's status (native/status.h); the caller maps it to its error, as for its own plans.
 *
 * @example
 * ```ts
 * if (error instanceof PieceDecryptFailed) throw nativeStatusError(error.status, "decrypting");
 * ```
 */
export class PieceDecryptFailed extends Error {
  constructor(
    readonly status: number,
    readonly decrypt: InPlaceDecrypt,
  ) {
    super(`decrypting a received piece failed (status ${status})`);
    this.name = "PieceDecryptFailed";
  }
}

/** Options of {@link ByteSource.readPieces}. */
export interface SourcePiecesOptions extends SourceReadOptions {
  /**
   * Called once per piece, as soon as all its bytes are in `dest` (in completion order, not
   * index order), e.g. to decrypt that chunk while others are still arriving. If it throws, the
   * remaining fetches are cancelled and readPieces rejects with that error.
   */
  onPiece?: ((index: number) => void) | undefined;
}

/**
 * A random-access, read-only byte source of known size.
 *
 * @example
 * ```ts
 * const source = await openFileSource("model.safetensors");
 * const prefix = new Uint8Array(8);
 * await source.read(0, 8, prefix);
 * await source.close();
 * ```
 */
export interface ByteSource {
  readonly identity: SourceIdentity;
  /** Size in bytes, fixed when the source was opened. */
  readonly size: number;
  /**
   * A local file path the native backend may open and map itself (its fast path). Set only when
   * reading that path gives exactly this source's bytes; absent for remote sources.
   */
  readonly localPath?: string | undefined;
  /**
   * Copies `[offset, offset + length)` into `dest[0 .. length)`. The caller checked the range
   * against `size`. Rejects with ERR_FILE_TRUNCATED when the source ends early (or its version
   * changed), ERR_IO when it cannot be read, ERR_ABORTED when `signal` aborts.
   */
  read(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: SourceReadOptions,
  ): Promise<void>;
  /**
   * Optional batch read for sources where each request is costly (HTTP): fills every piece,
   * merging nearby pieces into fewer requests and running them in parallel. Without it, the
   * backend reads piece by piece with {@link ByteSource.read}.
   */
  readPieces?(pieces: readonly SourcePiece[], options?: SourcePiecesOptions): Promise<void>;
  /** Releases the source; called once, after every read has settled. */
  close(): Promise<void>;
}

/**
 * Throws ERR_ABORTED if `signal` has aborted; sources call it before each request they make.
 *
 * @example
 * ```ts
 * checkSourceAborted(options?.signal, this.identity.name);
 * ```
 */
export function checkSourceAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) {
    throw new CryptoTensorsError("ERR_ABORTED", `reading ${name} was aborted`, {
      cause: signal.reason,
    });
  }
}

/**
 * True for a value that implements {@link ByteSource} (as opposed to a path string).
 *
 * @example
 * ```ts
 * const file = isByteSource(target) ? wrap(target) : await mapLocal(target);
 * ```
 */
export function isByteSource(value: unknown): value is ByteSource {
  const candidate = value as Partial<ByteSource> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.read === "function" &&
    typeof candidate.close === "function" &&
    typeof candidate.size === "number" &&
    typeof candidate.identity === "object" &&
    candidate.identity !== null
  );
}
