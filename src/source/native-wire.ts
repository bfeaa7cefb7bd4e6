// Range GETs of a pinned plain-http resource received by the addon (native/http-receive.h): each
// request runs on a thread of its own over a keep-alive connection and its body is recv()'d
// straight into the library's memory (the pieces a StagedSourceFile marks `owned`), where the
// addon's plans then decrypt it. Over loopback the JS-thread clients (http-wire.ts) spent most of
// a full load receiving and zeroing pages on the one JS thread (issue 16). JS keeps every decision:
// it resolves the address, builds the request (wireRequest: path, Host, the caller's headers,
// If-Match/If-Range), and maps each typed outcome to the errors and retry classes of the other
// transports (range-response.ts); the native side checks the head strictly and hands back any head
// it refuses, which JS checks again to raise the same error the JS client would.
// `CRYPTOTENSORS_NATIVE_HTTP=0` (read when a source is opened) turns it off, to compare with the
// JS client.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { NativeHttpResult } from "../native/addon.js";
import { type InPlaceDecrypt, PieceDecryptFailed } from "./byte-source.js";
import type { ConnectionBudget } from "./connection-budget.js";
import { loadNativeBinding, type NativeBinding } from "../native/addon.js";
import type { RequestContext } from "./http-request.js";
import { parseResponseHead, WireClosed, WireUnsupported, wireRequest } from "./http-wire.js";
import {
  checkPartial,
  network,
  type PinnedIdentity,
  type RangeResponse,
  remoteError,
  responseMeta,
  shortBody,
  statusError,
  Transient,
} from "./range-response.js";

/**
 * One stretch of a range's body: received into `dest` (library memory), or dropped (null);
 * `plan`: the whole piece's in-place decryption, run by the receiving thread once it is in.
 */
export interface NativeSegment {
  dest: Uint8Array | null;
  length: number;
  plan?: InPlaceDecrypt | undefined;
}

/**
 * The native receiver for `url` within the connections of `budget`, or undefined when it
 * is switched off (`CRYPTOTENSORS_NATIVE_HTTP=0`), the URL is not plain http, or the addon (or its
 * receive path) is not available.
 *
 * @example
 * ```ts
 * ctx.native = nativeHttpPool(ctx.url, ctx.wire.budget);
 * ```
 */
export function nativeHttpPool(url: URL, budget: ConnectionBudget): NativeHttpPool | undefined {
  // Read once per opened source, so a benchmark can compare both receivers in one process.
  if (process.env.CRYPTOTENSORS_NATIVE_HTTP === "0" || url.protocol !== "http:") return undefined;
  let binding: NativeBinding;
  try {
    binding = loadNativeBinding();
  } catch {
    return undefined; // no addon: no owned pieces either, the JS client serves everything
  }
  if (typeof binding.httpReceive !== "function") return undefined;
  return new NativeHttpPool(url, budget, binding);
}

/**
 * Kept-alive native connections to one origin (file descriptors the addon owns), at most
 * the budget allows at once (shared with the JS client); a caller past the bound waits.
 *
 * @example
 * ```ts
 * const pool = new NativeHttpPool(url, new ConnectionBudget(6), loadNativeBinding());
 * pool.destroy();
 * ```
 */
export class NativeHttpPool {
  readonly #idle: number[] = [];
  #destroyed = false;
  #retired = false;
  #address: Promise<{ addresses: string[]; port: number }> | undefined;

  constructor(
    readonly url: URL,
    /** Shared with the source's JS wire client: one bound for both. */
    private readonly budget: ConnectionBudget,
    readonly binding: NativeBinding,
  ) {
    budget.addEvictor(() => {
      const fd = this.#idle.pop();
      if (fd === undefined) return false;
      this.#close(fd);
      return true;
    });
  }

  /**
   * The numeric addresses to connect to, tried in order: the URL's literal, else those one lookup
   * gives (all of them, as node:net tries each: "localhost" may be ::1 then 127.0.0.1).
   */
  target(): Promise<{ addresses: string[]; port: number }> {
    this.#address ??= (async () => {
      const host = this.url.hostname.replace(/^\[|\]$/g, "");
      const port = Number(this.url.port || 80);
      if (isIP(host) !== 0) return { addresses: [host], port };
      const found = await lookup(host, { all: true });
      return { addresses: found.slice(0, 64).map((entry) => entry.address), port };
    })();
    const address = this.#address;
    address.catch(() => {
      if (this.#address === address) this.#address = undefined; // looked up again next time
    });
    return address;
  }

  /** An idle connection (its fd), else -1 (the job connects) within the bound, else waits. */
  async acquire(): Promise<number> {
    for (;;) {
      if (this.#retired) throw new WireUnsupported("the native receiver was set aside");
      if (this.#destroyed) throw new WireClosed("the source was closed");
      const idle = this.#idle.pop();
      if (idle !== undefined) return idle;
      if (this.budget.tryTake()) return -1;
      await this.budget.changed();
    }
  }

  /** Takes back a job's connection: its kept-alive fd, or -1 when the job closed it. */
  release(fd: number): void {
    if (fd < 0) this.budget.give();
    else if (this.#destroyed) this.#close(fd);
    else {
      this.#idle.push(fd);
      this.budget.notify();
    }
  }

  /**
   * Closes the idle connections; `retired`: the source goes on with the other transports (the
   * server sent what this receiver does not take), so waiting requests move there.
   */
  destroy(retired = false): void {
    this.#destroyed = true;
    this.#retired ||= retired;
    for (const fd of this.#idle.splice(0)) this.#close(fd);
    this.budget.notify();
  }

  #close(fd: number): void {
    this.binding.httpClose?.(fd);
    this.budget.give();
  }
}

/**
 * GETs `[start, end)` of a pinned resource once through the addon, the body received into
 * `segments`; `landed(position, length)` hears of the body bytes in place (also of those before a
 * failure, so that a retry resumes after them). Rejects like attemptWire: a {@link Transient} for
 * what another attempt may cure, WireUnsupported for a response to retry with node:http.
 *
 * @example
 * ```ts
 * await attemptNative(ctx, pool, pinned, 0, 4096, headers, [{ dest, length: 4096 }], landed, signal);
 * ```
 */
export async function attemptNative(
  ctx: RequestContext,
  pool: NativeHttpPool,
  pinned: PinnedIdentity,
  start: number,
  end: number,
  headers: Record<string, string>,
  segments: readonly NativeSegment[],
  landed: (position: number, length: number) => void,
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  const request = Buffer.from(wireRequest(pool.url, headers), "latin1");
  let addresses: string[];
  let port: number;
  try {
    ({ addresses, port } = await pool.target());
  } catch (error) {
    throw network(ctx, error as Error); // a name that does not resolve (now): retried, then ERR_IO
  }
  const aborted = () =>
    remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`, signal?.reason);
  if (signal?.aborted) throw aborted();
  let fd: number;
  try {
    fd = await pool.acquire();
  } catch (error) {
    if (error instanceof WireClosed)
      throw remoteError(
        "ERR_CLOSED",
        `${ctx.name}: the file has been closed; open it again to read`,
      );
    throw error;
  }
  if (signal?.aborted) {
    pool.release(fd);
    throw aborted();
  }
  ctx.stats.requests++;
  const receive = pool.binding.httpReceive as NonNullable<NativeBinding["httpReceive"]>;
  let reported = 0;
  // Pieces the receiving thread decrypts, in order: the first `decrypted` are done (before they
  // are reported, so that nobody runs their plan again).
  const planned = segments.flatMap((segment) => (segment.plan === undefined ? [] : [segment.plan]));
  const decrypted = (count: number) => {
    for (let i = 0; i < count && i < planned.length; i++)
      (planned[i] as InPlaceDecrypt).done = true;
  };
  const report = (received: number) => {
    if (received <= reported) return;
    ctx.stats.bytes += received - reported;
    landed(start + reported, received - reported);
    reported = received;
  };
  // The job always reports back (cancelled jobs too), so its memory is never written after this
  // settles.
  const result = await new Promise<NativeHttpResult>((resolve, reject) => {
    let id: number;
    try {
      id = receive(
        {
          fd,
          addresses,
          port,
          request,
          start,
          end,
          total: pinned.size,
          etag: pinned.etag,
          lastModified: pinned.etag === undefined ? pinned.lastModified : undefined,
          timeoutMs: ctx.timeoutMs,
          segments,
        },
        (outcome) => {
          if (outcome.outcome === "progress") {
            // A piece is complete (and maybe decrypted): counted now, so that its chunk is
            // decrypted while the rest of the range still arrives.
            decrypted(outcome.decrypted);
            report(outcome.received);
            return;
          }
          signal?.removeEventListener("abort", onAbort);
          resolve(outcome);
        },
      );
    } catch (error) {
      pool.release(fd < 0 ? -1 : fd);
      reject(error);
      return;
    }
    const onAbort = () => pool.binding.httpCancel?.(id);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  pool.release(result.fd);
  request.fill(0); // the caller's credentials do not linger in a buffer
  decrypted(result.decrypted);
  const failedPlan = result.outcome === "decrypt" ? planned[result.decrypted] : undefined;
  // Its destination was wiped: never decrypted again, the load fails with this status.
  if (failedPlan !== undefined) failedPlan.done = true;
  report(result.received);
  if (failedPlan !== undefined) throw new PieceDecryptFailed(result.status, failedPlan);
  return outcome(ctx, pinned, start, end, result, aborted);
}

function outcome(
  ctx: RequestContext,
  pinned: PinnedIdentity,
  start: number,
  end: number,
  result: NativeHttpResult,
  aborted: () => Error,
): RangeResponse {
  switch (result.outcome) {
    case "ok":
      return responseMeta(parseResponseHead(result.head.slice(0, -4)).head);
    case "cancelled":
      throw aborted();
    case "head": {
      // Refused natively: checked again here, for the same error as the JS client would raise.
      const { head } = parseResponseHead(result.head.slice(0, -4));
      const status = head.statusCode ?? 0;
      if (status !== 206)
        throw (
          statusError(ctx, pinned, status, head) ??
          remoteError("ERR_REMOTE_HTTP", `${ctx.name}: the server answered ${status}`)
        );
      checkPartial(ctx, pinned, responseMeta(head), head, start, end);
      throw new WireUnsupported("a response head the native receiver does not accept");
    }
    case "head-too-large":
      throw new WireUnsupported("the response head is larger than 64 KiB");
    case "overrun":
      throw remoteError(
        "ERR_REMOTE_PROTOCOL",
        `${ctx.name}: the server sent more bytes than the range asked for`,
      );
    case "timeout":
      throw new Transient(
        remoteError(
          "ERR_REMOTE_TIMEOUT",
          `${ctx.name}: the server sent nothing for ${ctx.timeoutMs} ms (raise remote.timeoutMs if it is just slow)`,
        ),
      );
    default: {
      const error = Object.assign(new Error(result.errorName || "connection failed"), {
        code: result.errorName || undefined,
      });
      // Maybe a kept-alive connection the server closed meanwhile: retry at once (still counted).
      if (!result.anything && result.reused) throw new Transient(network(ctx, error).error, 0);
      if (result.anything) throw shortBody(ctx, result.received, end - start);
      throw network(ctx, error);
    }
  }
}
