// An optional on-disk cache of the ciphertext a remote source fetched (`remote.cache`), so a
// second load of the same file makes no data requests. Keyed by the pinned identity (URL, ETag or
// Last-Modified, size): a file changed on the server has a new key and misses. Only bytes the
// reader marks as ciphertext are kept (never headers, never plain tensors), in files of mode 0600
// under a 0700 directory, each written to a temporary name and renamed into place. The cache is
// bounded: after each store the least recently used files (one directory per remote file) are
// removed until the total fits `maxBytes`. A damaged entry cannot pass for data: every byte read
// from it is authenticated by its chunk's AEAD tag like a fetched one (ERR_DECRYPTION_FAILED);
// an entry that cannot be read (removed by another process meanwhile) is a miss.
import { createHash, randomBytes } from "node:crypto";
import {
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";

/** `remote.cache`: where fetched ciphertext is kept between loads, and how much of it. */
export interface RemoteCacheOptions {
  /** Cache directory (created 0700 if missing); may be shared by processes and files. */
  dir: string;
  /** Bytes kept over all files; least recently used files go first. Default 4 GiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 4 * 2 ** 30;
const SEGMENT = /^(\d{1,16})-(\d{1,16})$/;
/** Touched on every use of a file's entries: its mtime orders the eviction. */
const USED = "used";

/** A cached range `[start, end)` of the remote file. */
interface Segment {
  start: number;
  end: number;
}

/**
 * The cache entries of one pinned remote file.
 *
 * @example
 * ```ts
 * const cache = await ChunkCache.open({ dir: ".ct-cache" }, url, "\"etag\"", size);
 * const hit = await cache.read(start, end); // Uint8Array | undefined
 * ```
 */
export class ChunkCache {
  readonly #root: string;
  readonly #dir: string;
  readonly #maxBytes: number;
  #segments: Segment[];

  private constructor(root: string, dir: string, maxBytes: number, segments: Segment[]) {
    this.#root = root;
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    this.#segments = segments;
  }

  /** Opens (creating) the entries of the file `url` at `version` of `size` bytes. */
  static async open(
    options: RemoteCacheOptions,
    url: string,
    version: string,
    size: number,
  ): Promise<ChunkCache> {
    const key = createHash("sha256").update(`${url}\n${version}\n${size}`).digest("hex");
    const dir = join(options.dir, key.slice(0, 40));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const segments: Segment[] = [];
    for (const name of await readdir(dir)) {
      const match = SEGMENT.exec(name);
      if (!match) continue;
      const start = Number(match[1]);
      const end = Number(match[2]);
      if (start < end && end <= size) segments.push({ start, end });
    }
    return new ChunkCache(options.dir, dir, options.maxBytes ?? DEFAULT_MAX_BYTES, segments);
  }

  /** The bytes `[start, end)` if one entry holds them all, else undefined (a miss). */
  async read(start: number, end: number): Promise<Uint8Array | undefined> {
    const segment = this.#segments.find((s) => s.start <= start && end <= s.end);
    if (segment === undefined) return undefined;
    const bytes = new Uint8Array(end - start);
    try {
      const file = await open(join(this.#dir, `${segment.start}-${segment.end}`), "r");
      try {
        let done = 0;
        while (done < bytes.length) {
          const { bytesRead } = await file.read(
            bytes,
            done,
            bytes.length - done,
            start - segment.start + done,
          );
          if (bytesRead === 0) throw new Error("short cache entry");
          done += bytesRead;
        }
      } finally {
        await file.close();
      }
    } catch {
      this.#segments = this.#segments.filter((s) => s !== segment);
      return undefined;
    }
    await this.#touch();
    return bytes;
  }

  /** Keeps `bytes` as the range starting at `start`, then trims the cache to its bound. */
  async store(start: number, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0 || bytes.length > this.#maxBytes) return;
    const name = `${start}-${start + bytes.length}`;
    const temp = join(this.#dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeFile(temp, bytes, { mode: 0o600, flag: "wx" });
      await rename(temp, join(this.#dir, name));
    } catch {
      // A cache that cannot be written (full disk, removed directory) only costs a refetch.
      await unlink(temp).catch(() => undefined);
      return;
    }
    this.#segments.push({ start, end: start + bytes.length });
    await this.#touch();
    await this.#trim();
  }

  async #touch(): Promise<void> {
    const now = new Date();
    const used = join(this.#dir, USED);
    await utimes(used, now, now).catch(() =>
      writeFile(used, "", { mode: 0o600 }).catch(() => undefined),
    );
  }

  /** Removes least recently used files until the cache fits; this file goes last. */
  async #trim(): Promise<void> {
    const entries: { dir: string; bytes: number; used: number }[] = [];
    let total = 0;
    for (const key of await readdir(this.#root).catch(() => [] as string[])) {
      const dir = join(this.#root, key);
      let bytes = 0;
      let used = 0;
      try {
        for (const name of await readdir(dir)) {
          const info = await stat(join(dir, name));
          if (name === USED) used = info.mtimeMs;
          else bytes += info.size;
        }
      } catch {
        continue; // removed meanwhile
      }
      entries.push({ dir, bytes, used: dir === this.#dir ? Number.POSITIVE_INFINITY : used });
      total += bytes;
    }
    entries.sort((a, b) => a.used - b.used);
    for (const entry of entries) {
      if (total <= this.#maxBytes) break;
      await rm(entry.dir, { recursive: true, force: true }).catch(() => undefined);
      total -= entry.bytes;
      if (entry.dir === this.#dir) this.#segments = [];
    }
  }
}
