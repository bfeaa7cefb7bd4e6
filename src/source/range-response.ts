// The checks every range response must pass, shared by both transports (node:http in
// http-request.ts, the plain-http wire client in wire-range.ts): status, exact Content-Range,
// Content-Length, the pinned identity; and which failures another attempt may cure.
import { CryptoTensorsError, type ErrorCode } from "../errors.js";
import type { ResponseHead } from "./http-wire.js";

/** What a range request is checked against once the resource is pinned. */
export interface PinnedIdentity {
  size: number;
  /** Strong ETag (quoted), sent as If-Match and If-Range. */
  etag?: string | undefined;
  /** Last-Modified, sent as If-Unmodified-Since and If-Range when there is no strong ETag. */
  lastModified?: string | undefined;
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
export class Transient extends Error {
  constructor(
    readonly error: CryptoTensorsError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

export const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function remoteError(code: ErrorCode, message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(code, message, cause === undefined ? undefined : { cause });
}

export function responseMeta(response: ResponseHead): RangeResponse {
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

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function parseDecimal(value: string | undefined): number | null {
  return value !== undefined && /^\d{1,16}$/.test(value) ? Number(value) : null;
}

/** Checks a 206 against the request; returns the end of the bytes it carries (short only for a first request past the end of a small file). */
export function checkPartial(
  ctx: { name: string },
  pinned: PinnedIdentity | null,
  meta: RangeResponse,
  response: ResponseHead,
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
  const length = parseDecimal(single(response.headers["content-length"]));
  if (length !== null && length !== (range.last as number) - start + 1) {
    throw remoteError(
      "ERR_REMOTE_PROTOCOL",
      `${ctx.name}: Content-Length ${length} disagrees with Content-Range ${JSON.stringify(raw)}`,
    );
  }
  if (pinned) checkSameIdentity(ctx, pinned, meta);
  return (range.last as number) + 1;
}

function checkSameIdentity(
  ctx: { name: string },
  pinned: PinnedIdentity,
  meta: RangeResponse,
): void {
  const changed =
    meta.total !== pinned.size ||
    (pinned.etag !== undefined && meta.etag !== undefined && meta.etag !== pinned.etag) ||
    (pinned.etag === undefined &&
      pinned.lastModified !== undefined &&
      meta.lastModified !== undefined &&
      meta.lastModified !== pinned.lastModified);
  if (changed) throw changedError(ctx);
}

export function changedError(ctx: { name: string }): CryptoTensorsError {
  return remoteError(
    "ERR_REMOTE_CHANGED",
    `${ctx.name} changed on the server while it was being read (its ETag, Last-Modified or size differ from those at open); open it again`,
  );
}

export function statusError(
  ctx: { name: string },
  pinned: PinnedIdentity | null,
  status: number,
  response: ResponseHead,
): Error | null {
  if (pinned === null && (status === 200 || status === 416 || (status >= 300 && status < 400)))
    return null; // the open step decides
  if (status === 412 || (pinned !== null && status === 200)) return changedError(ctx);
  const text = `${ctx.name}: the server answered ${status} ${response.statusMessage ?? ""}`.trim();
  if (RETRY_STATUS.has(status)) {
    const after = parseDecimal(single(response.headers["retry-after"]));
    return new Transient(
      remoteError("ERR_REMOTE_HTTP", `${text} (after retries)`),
      after === null ? undefined : after * 1000,
    );
  }
  const error = remoteError(
    "ERR_REMOTE_HTTP",
    `${text}${status === 401 || status === 403 ? "; pass credentials in remote.headers" : ""}`,
  );
  refusedWith.set(error, status);
  return error;
}

/** The HTTP status of each final ERR_REMOTE_HTTP refusal, for callers that branch on a 404. */
const refusedWith = new WeakMap<Error, number>();

/**
 * The HTTP status a server refused a request with (e.g. 404), if `error` is such a refusal.
 *
 * @example
 * ```ts
 * if (httpStatusOf(error) === 404) tryTheNextName();
 * ```
 */
export function httpStatusOf(error: unknown): number | undefined {
  return error instanceof Error ? refusedWith.get(error) : undefined;
}

export function shortBody(ctx: { name: string }, got: number, want: number): Transient {
  return new Transient(
    remoteError(
      "ERR_REMOTE_PROTOCOL",
      `${ctx.name}: the response body ended after ${got} of ${want} bytes (after retries)`,
    ),
  );
}

export function network(ctx: { name: string }, error: Error): Transient {
  const code = (error as { code?: unknown }).code;
  return new Transient(
    remoteError(
      "ERR_IO",
      `${ctx.name}: the connection failed (${typeof code === "string" ? code : error.message}) after retries`,
      error,
    ),
  );
}
