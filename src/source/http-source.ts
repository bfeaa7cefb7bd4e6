// A ByteSource over an http(s) URL, read with range requests. Open makes one speculative range
// read of the first bytes (the header of most files; the reader asks once more for the rest of a
// larger one) and pins the resource's identity (strong ETag, else Last-Modified, plus size); every
// later request carries If-Match/If-Range and is checked, so a file replaced mid-read is an error,
// never a mix of two files. Batches of pieces are merged into few requests and run in parallel
// over a bounded keep-alive pool (range-plan.ts).
import type * as http from "node:http";
import { CryptoTensorsError } from "../errors.js";
import type {
  ByteSource,
  SourceIdentity,
  SourcePiece,
  SourcePiecesOptions,
  SourceReadOptions,
} from "./byte-source.js";
import { checkSourceAborted } from "./byte-source.js";
import { fetchRange, makeAgent, type RequestContext } from "./http-request.js";
import { WirePool } from "./http-wire.js";
import { type PinnedIdentity, remoteError } from "./range-response.js";
import { ChunkCache, type RemoteCacheOptions } from "./chunk-cache.js";
import { downloadWhole } from "./full-download.js";
import { nativeHttpPool } from "./native-wire.js";
import {
  countLanded,
  evenRangeBytes,
  type FetchRange,
  placeIn,
  planRanges,
  scatter,
  segmentsOf,
} from "./range-plan.js";

export { isRemoteUrl } from "./remote-url.js";

/** Request headers for an authenticated store: sent with every request, never logged. */
export type RemoteHeaders =
  | Record<string, string>
  | ((url: URL) => Record<string, string> | Promise<Record<string, string>>);

/** How http(s) URLs are read (`openFile(url, { remote })`). */
export interface RemoteOptions {
  /** e.g. `{ authorization: "Bearer …" }`, or a callback returning fresh headers per request. */
  headers?: RemoteHeaders;
  /** A request that receives nothing for this long fails (and is retried). Default 30,000. */
  timeoutMs?: number;
  /** Further attempts after a transient failure (reset, timeout, short body, 408/429/5xx). Default 3. */
  retries?: number;
  /** First retry delay; doubles per attempt, with jitter. Default 200. */
  retryDelayMs?: number;
  /** Parallel connections per file (keep-alive). Default 6. */
  maxConnections?: number;
  /** Bytes of the speculative first read (the header of most files fits). Default 65,536. */
  headerReadBytes?: number;
  /**
   * Largest merged range request. Default 64 MiB. A large read is cut into about equal ranges,
   * a multiple of `maxConnections` of them, of at least 8 MiB each (or this, if smaller); with
   * `cache`, of at most 8 MiB (the cache holds a copy of each range while it arrives).
   */
  maxRangeBytes?: number;
  /** Wanted ranges at most this far apart share one request. Default 65,536. */
  maxGapBytes?: number;
  /**
   * For a server that ignores Range: download the whole file once (to a private temporary file)
   * instead of refusing with ERR_REMOTE_NO_RANGES. Default false.
   */
  allowFullDownload?: boolean;
  /** Keep fetched ciphertext on disk, so that loading the same file again fetches no data. */
  cache?: RemoteCacheOptions;
  /** Cancels opening (reads take their own signal). */
  signal?: AbortSignal;
}

const DEFAULTS = {
  timeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 200,
  maxConnections: 6,
  headerReadBytes: 64 << 10,
  maxRangeBytes: 64 << 20,
  maxGapBytes: 64 << 10,
};
/** With a cache, ranges stay this small (it holds a copy of each range while it arrives). */
const CACHE_RANGE_BYTES = 8 << 20;
const MAX_REDIRECTS = 5;

/** Traffic of one source: requests sent (retries included), body bytes received, bytes read from `remote.cache`. */
export interface RemoteStats {
  requests: number;
  bytes: number;
  cachedBytes: number;
}

/** An open http(s) resource: a {@link ByteSource} plus its traffic counters. */
export interface HttpSource extends ByteSource {
  readonly stats: Readonly<RemoteStats>;
}

/**
 * Opens an http(s) URL as a {@link ByteSource}: one range request for the first
 * `headerReadBytes`, identity pinned. Errors: ERR_REMOTE_HTTP, ERR_REMOTE_NO_RANGES,
 * ERR_REMOTE_PROTOCOL (also when the server gives neither a strong ETag nor Last-Modified),
 * ERR_REMOTE_TIMEOUT, ERR_IO (connection), ERR_ABORTED.
 *
 * @example
 * ```ts
 * const source = await openHttpSource("https://models.example/m.safetensors", {
 *   headers: { authorization: `Bearer ${token}` },
 * });
 * const file = await openFile(source, { keys });
 * ```
 */
export async function openHttpSource(
  url: string | URL,
  options: RemoteOptions = {},
): Promise<HttpSource> {
  const settings = checkOptions(options);
  let target = parseUrl(url);
  const stats = { requests: 0, bytes: 0, cachedBytes: 0 };
  const startOrigin = target.origin;
  let agent = makeAgent(target, settings.maxConnections);
  try {
    for (let redirects = 0; ; redirects++) {
      const ctx = context(target, agent, options.headers, startOrigin, settings, stats);
      const prefix = new Uint8Array(settings.headerReadBytes);
      let got = 0;
      const meta = await fetchRange(
        ctx,
        null,
        0,
        prefix.length,
        (position, bytes) => {
          prefix.set(bytes, position);
          got = position + bytes.length;
        },
        options.signal,
      );
      if (meta.status >= 300 && meta.status < 400) {
        if (meta.location === undefined || redirects >= MAX_REDIRECTS)
          throw remoteError(
            "ERR_REMOTE_HTTP",
            `${ctx.name}: ${meta.location === undefined ? `the server answered ${meta.status} without a Location` : `more than ${MAX_REDIRECTS} redirects`}`,
          );
        const next = new URL(meta.location, target);
        if (next.protocol !== "http:" && next.protocol !== "https:")
          throw remoteError("ERR_REMOTE_HTTP", `${ctx.name}: redirected to a non-HTTP URL`);
        if (next.protocol !== target.protocol) {
          agent.destroy();
          agent = makeAgent(next, settings.maxConnections);
        }
        target = next;
        continue;
      }
      // An empty file has no range to serve: nginx answers it 200 with no body.
      if (meta.status === 200 && meta.total === 0) got = 0;
      else if (meta.status === 200) {
        if (options.allowFullDownload === true) {
          const local = await downloadWhole(ctx, options.signal);
          agent.destroy();
          return {
            identity: local.identity,
            size: local.size,
            stats,
            read: local.read,
            close: local.close,
          };
        }
        throw remoteError(
          "ERR_REMOTE_NO_RANGES",
          `${ctx.name}: the server ignores Range requests (it answered 200 with the whole file); lazy loading needs a server that supports ranges, or pass remote.allowFullDownload (CLI --allow-full-download) to download the whole file`,
        );
      }
      if (meta.status === 416) {
        if (meta.total !== 0)
          throw remoteError(
            "ERR_REMOTE_PROTOCOL",
            `${ctx.name}: the server refused the range bytes=0-${prefix.length - 1} of a file it says is not empty`,
          );
        got = 0;
      }
      const pinned = pin(ctx, meta.etag, meta.lastModified, meta.total ?? 0);
      const version = pinned.etag ?? `${pinned.lastModified}:${pinned.size}`;
      const cache =
        options.cache === undefined
          ? undefined
          : await ChunkCache.open(options.cache, ctx.name, version, pinned.size);
      // Pinned range requests over plain http go through the wire client (http-wire.ts).
      if (target.protocol === "http:") {
        ctx.wire = new WirePool(ctx.url, settings.maxConnections);
        // Ranges into library memory are received by the addon instead (native-wire.ts).
        ctx.native = nativeHttpPool(ctx.url, ctx.wire.budget);
      }
      return new RangeSource(ctx, pinned, prefix.subarray(0, got), settings, stats, cache);
    }
  } catch (error) {
    agent.destroy();
    throw error;
  }
}

class RangeSource implements HttpSource {
  readonly identity: SourceIdentity;
  readonly size: number;

  constructor(
    private readonly ctx: RequestContext,
    private readonly pinned: PinnedIdentity,
    /** The speculative first bytes: reads inside them make no request. */
    private readonly prefix: Uint8Array,
    private readonly settings: typeof DEFAULTS,
    readonly stats: RemoteStats,
    /** `remote.cache` entries of this file, if the caller asked for a cache. */
    private readonly cache: ChunkCache | undefined,
  ) {
    this.size = pinned.size;
    this.identity = {
      name: ctx.name,
      version: pinned.etag ?? `${pinned.lastModified}:${pinned.size}`,
    };
  }

  async read(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: SourceReadOptions,
  ): Promise<void> {
    await this.readPieces([{ offset, length, dest }], options);
  }

  async readPieces(pieces: readonly SourcePiece[], options?: SourcePiecesOptions): Promise<void> {
    checkSourceAborted(options?.signal, this.identity.name);
    const remaining = pieces.map((piece) => piece.length);
    const done: number[] = [];
    // What the speculative read already holds is copied, the rest fetched.
    const rest: SourcePiece[] = [];
    const owner: number[] = [];
    pieces.forEach((piece, index) => {
      const held = Math.max(0, Math.min(piece.length, this.prefix.length - piece.offset));
      if (held > 0) piece.dest.set(this.prefix.subarray(piece.offset, piece.offset + held));
      remaining[index] = piece.length - held;
      if (remaining[index] === 0) done.push(index);
      else {
        rest.push({
          offset: piece.offset + held,
          length: piece.length - held,
          dest: piece.dest.subarray(held, piece.length),
          owned: piece.owned,
          ciphertext: piece.ciphertext,
          // Only a piece fetched whole may be decrypted where it lands.
          decrypt: held === 0 ? piece.decrypt : undefined,
        });
        owner.push(index);
      }
    });
    for (const index of done) options?.onPiece?.(index);
    if (this.cache !== undefined) await this.#fromCache(this.cache, rest, owner, options);
    if (rest.length === 0) return;
    const left = rest.map((piece) => piece.length);
    const ranges = planRanges(rest, {
      maxGap: this.settings.maxGapBytes,
      maxRange: evenRangeBytes(
        rest,
        this.cache === undefined
          ? this.settings.maxRangeBytes
          : Math.min(this.settings.maxRangeBytes, CACHE_RANGE_BYTES),
        this.settings.maxConnections,
      ),
    });
    // One failure cancels the other requests of the batch; the caller's signal cancels all.
    const controller = new AbortController();
    const onAbort = () => controller.abort(options?.signal?.reason);
    options?.signal?.addEventListener("abort", onAbort, { once: true });
    let failure: unknown;
    let next = 0;
    const stores: Promise<void>[] = [];
    const worker = async () => {
      while (failure === undefined && next < ranges.length) {
        const range = ranges[next++] as (typeof ranges)[number];
        // The piece the next bytes were received into directly, if any (wire client, plain http).
        let placed = -1;
        // With a cache, the ciphertext of the range is kept as it arrives (in-place bytes are
        // decrypted, in their staging memory, right after).
        const captured =
          this.cache !== undefined && range.pieces.some((i) => rest[i]?.ciphertext === true)
            ? new Uint8Array(range.end - range.start)
            : undefined;
        try {
          await fetchRange(
            this.ctx,
            this.pinned,
            range.start,
            range.end,
            {
              deliver: (position, bytes, inPlace) => {
                captured?.set(bytes, position - range.start);
                for (const index of scatter(
                  range,
                  rest,
                  left,
                  position,
                  bytes,
                  inPlace ? placed : -1,
                ))
                  options?.onPiece?.(owner[index] as number);
              },
              place: (position, max) => {
                const into = placeIn(range, rest, position, max);
                placed = into?.index ?? -1;
                return into?.view;
              },
              // The cache keeps a copy of the ciphertext as it arrives: not with the addon.
              segments: (position, end) =>
                captured === undefined ? segmentsOf(range, rest, position, end) : undefined,
              landed: (position, length) => {
                for (const index of countLanded(range, rest, left, position, length))
                  options?.onPiece?.(owner[index] as number);
              },
            },
            controller.signal,
          );
          if (captured !== undefined && this.cache !== undefined)
            stores.push(storeCiphertext(this.cache, range, rest, captured));
        } catch (error) {
          if (failure === undefined) {
            failure = options?.signal?.aborted
              ? new CryptoTensorsError("ERR_ABORTED", `reading ${this.identity.name} was aborted`, {
                  cause: options.signal.reason,
                })
              : error;
            controller.abort();
          }
        }
      }
    };
    try {
      const workers = Math.min(this.settings.maxConnections, ranges.length);
      await Promise.all(Array.from({ length: workers }, worker));
    } finally {
      options?.signal?.removeEventListener("abort", onAbort);
      await Promise.allSettled(stores);
    }
    if (failure !== undefined) throw failure;
  }

  /** Serves the ciphertext pieces a cache entry holds, and leaves only the others in `rest`. */
  async #fromCache(
    cache: ChunkCache,
    rest: SourcePiece[],
    owner: number[],
    options: SourcePiecesOptions | undefined,
  ): Promise<void> {
    let kept = 0;
    for (let i = 0; i < rest.length; i++) {
      const piece = rest[i] as SourcePiece;
      const hit = piece.ciphertext
        ? await cache.read(piece.offset, piece.offset + piece.length)
        : undefined;
      checkSourceAborted(options?.signal, this.identity.name);
      if (hit === undefined) {
        rest[kept] = piece;
        owner[kept++] = owner[i] as number;
        continue;
      }
      piece.dest.set(hit);
      this.stats.cachedBytes += hit.length;
      options?.onPiece?.(owner[i] as number);
    }
    rest.length = kept;
    owner.length = kept;
  }

  async close(): Promise<void> {
    this.ctx.agent.destroy();
    this.ctx.wire?.destroy();
    this.ctx.native?.destroy();
  }
}

function pin(
  ctx: RequestContext,
  etag: string | undefined,
  lastModified: string | undefined,
  size: number,
): PinnedIdentity {
  // A weak ETag (W/"…") names equivalent content, not identical bytes: it cannot pin ranges.
  if (etag !== undefined && /^"[^"]*"$/.test(etag)) return { size, etag };
  if (lastModified !== undefined) return { size, lastModified };
  throw remoteError(
    "ERR_REMOTE_PROTOCOL",
    `${ctx.name}: the server sends neither a strong ETag nor Last-Modified, so a file replaced while it is read could not be detected; serve it with one of them`,
  );
}

function context(
  url: URL,
  agent: http.Agent,
  headers: RemoteHeaders | undefined,
  startOrigin: string,
  settings: typeof DEFAULTS,
  stats: RemoteStats,
): RequestContext {
  // Credentials go only to the origin they were given for, never to a redirect target elsewhere.
  const sameOrigin = url.origin === startOrigin;
  const basic: Record<string, string> =
    url.username || url.password
      ? {
          authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`,
        }
      : {};
  const bare = new URL(url);
  bare.username = "";
  bare.password = "";
  return {
    url: bare,
    name: `${url.origin}${url.pathname}`,
    agent,
    headers: async () => {
      if (!sameOrigin) return {};
      const extra = typeof headers === "function" ? await headers(new URL(bare)) : (headers ?? {});
      if (typeof extra !== "object" || extra === null)
        throw new TypeError("remote.headers must return an object of header strings");
      return { ...basic, ...extra };
    },
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    retryDelayMs: settings.retryDelayMs,
    stats,
  };
}

function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("the remote target is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new TypeError(`only http: and https: URLs can be read remotely, not ${parsed.protocol}`);
  return parsed;
}

function checkOptions(options: RemoteOptions): typeof DEFAULTS {
  if (typeof options !== "object" || options === null)
    throw new TypeError("remote options must be an object");
  const settings = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === "retries" || key === "retryDelayMs" || key === "maxGapBytes" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`remote.${key} must be an integer >= ${min}`);
    settings[key] = value;
  }
  if (options.allowFullDownload !== undefined && typeof options.allowFullDownload !== "boolean")
    throw new TypeError("remote.allowFullDownload must be a boolean");
  const { cache } = options;
  if (cache !== undefined) {
    if (
      typeof cache !== "object" ||
      cache === null ||
      typeof cache.dir !== "string" ||
      cache.dir === ""
    )
      throw new TypeError("remote.cache must be { dir: string, maxBytes?: number }");
    if (
      cache.maxBytes !== undefined &&
      (!Number.isSafeInteger(cache.maxBytes) || cache.maxBytes < 1)
    )
      throw new RangeError("remote.cache.maxBytes must be a positive integer");
  }
  const { headers } = options;
  if (headers !== undefined && typeof headers !== "function") {
    if (
      typeof headers !== "object" ||
      headers === null ||
      !Object.values(headers).every((v) => typeof v === "string")
    )
      throw new TypeError("remote.headers must be an object of strings or a function");
  }
  return settings;
}

/** Stores the runs of ciphertext pieces a completed range fetched (never the gaps between them). */
async function storeCiphertext(
  cache: ChunkCache,
  range: FetchRange,
  pieces: readonly SourcePiece[],
  captured: Uint8Array,
): Promise<void> {
  const runs: { start: number; end: number }[] = [];
  for (const index of range.pieces) {
    const piece = pieces[index] as SourcePiece;
    if (piece.ciphertext !== true) continue;
    const start = Math.max(piece.offset, range.start);
    const end = Math.min(piece.offset + piece.length, range.end);
    const last = runs[runs.length - 1];
    if (last !== undefined && start <= last.end) last.end = Math.max(last.end, end);
    else if (end > start) runs.push({ start, end });
  }
  for (const run of runs)
    await cache.store(run.start, captured.subarray(run.start - range.start, run.end - range.start));
}
