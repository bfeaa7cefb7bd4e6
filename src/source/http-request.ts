// One HTTP GET with a Range header over a keep-alive agent, with the checks every range response
// must pass (status, exact Content-Range, pinned identity, body length), a no-progress timeout,
// AbortSignal, and retries with backoff for what may succeed on a second try (connection reset or
// refused, timeout, short body, 408/429/5xx). Caller headers (authorization) are sent, never put
// in an error or a log line.
import * as http from "node:http";
import type { IncomingMessage } from "node:http";
import * as https from "node:https";
import { CryptoTensorsError, type ErrorCode } from "../errors.js";

/** What a range request is checked against once the resource is pinned. */
export interface PinnedIdentity {
  size: number;
  /** Strong ETag (quoted), sent as If-Match and If-Range. */
  etag?: string | undefined;
  /** Last-Modified, sent as If-Unmodified-Since and If-Range when there is no strong ETag. */
  lastModified?: string | undefined;
}

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
}

/** The parts of a response the open step needs. */
export interface RangeResponse {
  status: number;
  /** Total size from Content-Range (206, 416) or Content-Length (200). */
  total: number | null;
  etag: string | undefined;
  lastModified: string | undefined;
  location: string | undefined;
}

/** An error that another attempt may cure. */
class Transient extends Error {
  constructor(
    readonly error: CryptoTensorsError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_RETRY_WAIT_MS = 10_000;

export function remoteError(code: ErrorCode, message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(code, message, cause === undefined ? undefined : { cause });
}

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
  sink: (position: number, bytes: Uint8Array) => void,
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  let delivered = 0;
  for (let attempt = 0; ; attempt++) {
    checkAborted(signal, ctx.name);
    try {
      return await attemptRange(
        ctx,
        pinned,
        start + delivered,
        end,
        (position, bytes) => {
          delivered += bytes.length;
          sink(position, bytes);
        },
        signal,
      );
    } catch (error) {
      if (!(error instanceof Transient) || attempt >= ctx.retries) {
        throw error instanceof Transient ? error.error : error;
      }
      const backoff = ctx.retryDelayMs * 2 ** attempt * (1 + Math.random() / 2);
      await sleep(Math.min(MAX_RETRY_WAIT_MS, error.retryAfterMs ?? backoff), signal, ctx.name);
    }
  }
}

function attemptRange(
  ctx: RequestContext,
  pinned: PinnedIdentity | null,
  start: number,
  requestedEnd: number,
  sink: (position: number, bytes: Uint8Array) => void,
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  return ctx.headers().then(
    (callerHeaders) =>
      new Promise<RangeResponse>((resolve, reject) => {
        let end = requestedEnd;
        ctx.stats.requests++;
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
              sink(position, bytes);
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
      }),
  );
}

function responseMeta(response: IncomingMessage): RangeResponse {
  const header = (name: string) => {
    const value = response.headers[name];
    return typeof value === "string" ? value : undefined;
  };
  const status = response.statusCode ?? 0;
  let total: number | null = null;
  const range = parseContentRange(header("content-range"));
  if (range) total = range.total;
  else if (status === 200 && header("content-length") !== undefined)
    total = parseDecimal(header("content-length"));
  return {
    status,
    total,
    etag: header("etag"),
    lastModified: header("last-modified"),
    location: header("location"),
  };
}

/** `bytes a-b/total` or `bytes * /total` (416); null when absent or malformed. */
export function parseContentRange(
  value: string | undefined,
): { first: number | null; last: number | null; total: number | null } | null {
  if (value === undefined) return null;
  const match = /^bytes (?:(\d{1,16})-(\d{1,16})|\*)\/(\d{1,16}|\*)$/.exec(value.trim());
  if (!match) return null;
  const num = (s: string | undefined) => (s === undefined || s === "*" ? null : Number(s));
  return { first: num(match[1]), last: num(match[2]), total: num(match[3]) };
}

function parseDecimal(value: string | undefined): number | null {
  return value !== undefined && /^\d{1,16}$/.test(value) ? Number(value) : null;
}

/** Checks a 206 against the request; returns the end of the bytes it carries (short only for a first request past the end of a small file). */
function checkPartial(
  ctx: RequestContext,
  pinned: PinnedIdentity | null,
  meta: RangeResponse,
  response: IncomingMessage,
  start: number,
  end: number,
): number {
  const raw = response.headers["content-range"];
  const range = parseContentRange(typeof raw === "string" ? raw : undefined);
  const expected = `bytes ${start}-${end - 1}/${pinned ? pinned.size : "<size>"}`;
  // A first request may ask past the end of a small file: the server then answers the part that exists.
  const lastOk = pinned
    ? range?.last === end - 1
    : range?.last !== null && range?.last !== undefined && range.last <= end - 1;
  if (
    !range ||
    range.first !== start ||
    !lastOk ||
    range.total === null ||
    (range.last as number) >= range.total
  ) {
    throw remoteError(
      "ERR_REMOTE_PROTOCOL",
      `${ctx.name}: the server answered Content-Range ${JSON.stringify(raw ?? null)} to a request for ${expected}; refusing bytes it did not promise`,
    );
  }
  const length = parseDecimal(response.headers["content-length"]);
  if (length !== null && length !== (range.last as number) - start + 1) {
    throw remoteError(
      "ERR_REMOTE_PROTOCOL",
      `${ctx.name}: Content-Length ${length} disagrees with Content-Range ${JSON.stringify(raw)}`,
    );
  }
  if (pinned) checkSameIdentity(ctx, pinned, meta);
  return (range.last as number) + 1;
}

function checkSameIdentity(ctx: RequestContext, pinned: PinnedIdentity, meta: RangeResponse): void {
  const changed =
    meta.total !== pinned.size ||
    (pinned.etag !== undefined && meta.etag !== undefined && meta.etag !== pinned.etag) ||
    (pinned.etag === undefined &&
      pinned.lastModified !== undefined &&
      meta.lastModified !== undefined &&
      meta.lastModified !== pinned.lastModified);
  if (changed) throw changedError(ctx);
}

function changedError(ctx: RequestContext): CryptoTensorsError {
  return remoteError(
    "ERR_REMOTE_CHANGED",
    `${ctx.name} changed on the server while it was being read (its ETag, Last-Modified or size differ from those at open); open it again`,
  );
}

function statusError(
  ctx: RequestContext,
  pinned: PinnedIdentity | null,
  status: number,
  response: IncomingMessage,
): Error | null {
  if (pinned === null && (status === 200 || status === 416 || (status >= 300 && status < 400)))
    return null; // the open step decides
  if (status === 412 || (pinned !== null && status === 200)) return changedError(ctx);
  const text = `${ctx.name}: the server answered ${status} ${response.statusMessage ?? ""}`.trim();
  if (RETRY_STATUS.has(status)) {
    const after = parseDecimal(response.headers["retry-after"]);
    return new Transient(
      remoteError("ERR_REMOTE_HTTP", `${text} (after retries)`),
      after === null ? undefined : after * 1000,
    );
  }
  return remoteError(
    "ERR_REMOTE_HTTP",
    `${text}${status === 401 || status === 403 ? "; pass credentials in remote.headers" : ""}`,
  );
}

function shortBody(ctx: RequestContext, got: number, want: number): Transient {
  return new Transient(
    remoteError(
      "ERR_REMOTE_PROTOCOL",
      `${ctx.name}: the response body ended after ${got} of ${want} bytes (after retries)`,
    ),
  );
}

function network(ctx: RequestContext, error: Error): Transient {
  const code = (error as { code?: unknown }).code;
  return new Transient(
    remoteError(
      "ERR_IO",
      `${ctx.name}: the connection failed (${typeof code === "string" ? code : error.message}) after retries`,
      error,
    ),
  );
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
