// One HTTP GET with a Range header over a keep-alive agent, with the checks every range response
// must pass (status, exact Content-Range, pinned identity, body length), a no-progress timeout,
// AbortSignal, and retries with backoff for what may succeed on a second try (connection reset or
// refused, timeout, short body, 408/429/5xx). Caller headers (authorization) are sent, never put
// in an error or a log line.
import * as http from "node:http";
import * as https from "node:https";
import { type WirePool, WireUnsupported } from "./http-wire.js";
import { attemptWire } from "./wire-range.js";
import { attemptNative, type NativeHttpPool, type NativeSegment } from "./native-wire.js";
import {
  type PinnedIdentity,
  type RangeResponse,
  remoteError,
  responseMeta,
  checkPartial,
  statusError,
  shortBody,
  network,
  Transient,
} from "./range-response.js";

export interface RequestContext {
  url: URL;
  /** Names the resource in messages: no credentials, no query. */
  name: string;
  agent: http.Agent;
  headers: () => Promise<Record<string, string>>;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** Requests sent (retries included) and body bytes received. */
  stats: { requests: number; bytes: number };
  /**
   * Plain-http connections for pinned range requests (wire-range.ts); unset for https, and
   * dropped for good if the server sends a response the wire client does not frame.
   */
  wire?: WirePool | undefined;
  /** The addon's receiver for pinned plain-http ranges into library memory (native-wire.ts). */
  native?: NativeHttpPool | undefined;
}

/** Where a response body goes, in order; `place` may name memory to receive it in directly. */
export interface BodySink {
  /** `bytes` arrived for `position`; `inPlace`: they were read into the memory place() gave. */
  deliver(position: number, bytes: Uint8Array, inPlace: boolean): void;
  /**
   * Memory (at most `max` bytes) the bytes at `position` may be read into directly: only memory
   * the library owns, never a caller's buffer, which could be transferred while a read is pending.
   */
  place?(position: number, max: number): Uint8Array | undefined;
  /**
   * Where the body of `[position, end)` goes when the addon receives it (native-wire.ts): only
   * when every wanted byte lies in library memory; undefined otherwise (another transport runs).
   */
  segments?(position: number, end: number): NativeSegment[] | undefined;
  /** `length` body bytes from `position` were received in place (into the segments). */
  landed?(position: number, length: number): void;
}

const MAX_RETRY_WAIT_MS = 10_000;

/**
 * A keep-alive agent with at most `maxSockets` connections (one per source, destroyed on close).
 *
 * @example
 * ```ts
 * const agent = makeAgent(new URL("https://host/m.safetensors"), 6);
 * ```
 */
export function makeAgent(url: URL, maxSockets: number): http.Agent {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" };
  return url.protocol === "https:"
    ? new https.Agent(options as https.AgentOptions)
    : new http.Agent(options as http.AgentOptions);
}

/**
 * GETs `[start, end)` with retries; `sink(position, bytes)` receives the body of a 206 in order
 * (a retry resumes after the bytes already delivered). `first` requests are not pinned yet: they
 * return a 200/3xx/416 to the caller (open) instead of failing. Resolves with the response
 * metadata of the last attempt.
 *
 * @example
 * ```ts
 * await fetchRange(ctx, pinned, 0, 65536, (pos, bytes) => buffer.set(bytes, pos), signal);
 * ```
 */
export async function fetchRange(
  ctx: RequestContext,
  pinned: PinnedIdentity | null,
  start: number,
  end: number,
  sink: BodySink | ((position: number, bytes: Uint8Array) => void),
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  const body: BodySink =
    typeof sink === "function" ? { deliver: (position, bytes) => sink(position, bytes) } : sink;
  let delivered = 0;
  const counted: BodySink = {
    deliver: (position, bytes, inPlace) => {
      delivered += bytes.length;
      body.deliver(position, bytes, inPlace);
    },
    place: body.place?.bind(body),
    landed: (position, length) => {
      delivered += length;
      body.landed?.(position, length);
    },
  };
  for (let attempt = 0; ; attempt++) {
    checkAborted(signal, ctx.name);
    try {
      const callerHeaders = await ctx.headers();
      const headers = rangeHeaders(callerHeaders, pinned, start + delivered, end);
      const segments =
        pinned !== null && ctx.native !== undefined
          ? body.segments?.(start + delivered, end)
          : undefined;
      if (pinned !== null && ctx.native !== undefined && segments !== undefined)
        return await attemptNative(
          ctx,
          ctx.native,
          pinned,
          start + delivered,
          end,
          headers,
          segments,
          counted.landed as (position: number, length: number) => void,
          signal,
        );
      if (pinned !== null && ctx.wire !== undefined)
        return await attemptWire(
          ctx,
          ctx.wire,
          pinned,
          start + delivered,
          end,
          headers,
          counted,
          signal,
        );
      return await attemptRange(ctx, pinned, start + delivered, end, headers, counted, signal);
    } catch (error) {
      if (error instanceof WireUnsupported) {
        // Not a failure of the server: node:http frames what the wire client does not.
        ctx.wire?.destroy();
        ctx.wire = undefined;
        ctx.native?.destroy(true);
        ctx.native = undefined;
        attempt--;
        continue;
      }
      if (!(error instanceof Transient) || attempt >= ctx.retries) {
        throw error instanceof Transient ? error.error : error;
      }
      const backoff = ctx.retryDelayMs * 2 ** attempt * (1 + Math.random() / 2);
      await sleep(Math.min(MAX_RETRY_WAIT_MS, error.retryAfterMs ?? backoff), signal, ctx.name);
    }
  }
}

/** The request headers of a range GET: the caller's, the range, and the pinned identity. */
function rangeHeaders(
  callerHeaders: Record<string, string>,
  pinned: PinnedIdentity | null,
  start: number,
  end: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    ...callerHeaders,
    "accept-encoding": "identity",
    range: `bytes=${start}-${end - 1}`,
  };
  if (pinned?.etag) {
    headers["if-match"] = pinned.etag;
    headers["if-range"] = pinned.etag;
  } else if (pinned?.lastModified) {
    headers["if-unmodified-since"] = pinned.lastModified;
    headers["if-range"] = pinned.lastModified;
  }
  return headers;
}

function attemptRange(
  ctx: RequestContext,
  pinned: PinnedIdentity | null,
  start: number,
  requestedEnd: number,
  headers: Record<string, string>,
  sink: BodySink,
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  return new Promise<RangeResponse>((resolve, reject) => {
    let end = requestedEnd;
    ctx.stats.requests++;
    let settled = false;
    const finish = (error: unknown, value?: RangeResponse) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(value as RangeResponse);
    };
    const onAbort = () =>
      finish(remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`, signal?.reason));
    const client = ctx.url.protocol === "https:" ? https : http;
    const request = client.get(ctx.url, { agent: ctx.agent, headers }, (response) => {
      try {
        const meta = responseMeta(response);
        const status = response.statusCode ?? 0;
        if (status !== 206) {
          // Never drain a body we do not want (a 200 may be the whole multi-GB file).
          finish(statusError(ctx, pinned, status, response), meta);
          request.destroy();
          return;
        }
        end = checkPartial(ctx, pinned, meta, response, start, end);
      } catch (error) {
        finish(error);
        return;
      }
      let position = start;
      response.on("data", (bytes: Buffer) => {
        if (settled) return;
        if (position + bytes.length > end) {
          finish(
            remoteError(
              "ERR_REMOTE_PROTOCOL",
              `${ctx.name}: the server sent more bytes than the range asked for`,
            ),
          );
          return;
        }
        try {
          sink.deliver(position, bytes, false);
        } catch (error) {
          finish(error);
          return;
        }
        position += bytes.length;
        ctx.stats.bytes += bytes.length;
      });
      response.on("end", () => {
        if (position === end) finish(null, responseMeta(response));
        else finish(shortBody(ctx, position - start, end - start));
      });
      response.on("close", () => finish(shortBody(ctx, position - start, end - start)));
      // Once the body has started, a connection failure is a short body.
      response.on("error", () => finish(shortBody(ctx, position - start, end - start)));
      request.on("error", () => finish(shortBody(ctx, position - start, end - start)));
    });
    request.setTimeout(ctx.timeoutMs, () =>
      finish(
        new Transient(
          remoteError(
            "ERR_REMOTE_TIMEOUT",
            `${ctx.name}: the server sent nothing for ${ctx.timeoutMs} ms (raise remote.timeoutMs if it is just slow)`,
          ),
        ),
      ),
    );
    request.once("error", (error) => finish(network(ctx, error)));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function checkAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted)
    throw remoteError("ERR_ABORTED", `reading ${name} was aborted`, signal.reason);
}

function sleep(ms: number, signal: AbortSignal | undefined, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(remoteError("ERR_ABORTED", `reading ${name} was aborted`, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
