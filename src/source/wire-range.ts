// One range GET over the plain-http wire client (http-wire.ts), with exactly the checks, errors
// and retry classes of the node:http attempt (range-response.ts): the two transports differ only
// in how the body reaches memory.
import type { BodySink, RequestContext } from "./http-request.js";
import { WireClosed, type WirePool, WireOverrun, WireTimeout, wireRequest } from "./http-wire.js";
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
 * GETs `[start, end)` of a pinned resource once over `pool`; rejects with a {@link Transient}
 * for what another attempt may cure, and with WireUnsupported for a response to retry with
 * node:http.
 *
 * @example
 * ```ts
 * const meta = await attemptWire(ctx, pool, pinned, 0, 1024, headers, sink, signal);
 * ```
 */
export function attemptWire(
  ctx: RequestContext,
  pool: WirePool,
  pinned: PinnedIdentity,
  start: number,
  end: number,
  headers: Record<string, string>,
  sink: BodySink,
  signal: AbortSignal | undefined,
): Promise<RangeResponse> {
  return new Promise<RangeResponse>((resolve, reject) => {
    let request: string;
    try {
      request = wireRequest(pool.url, headers);
    } catch (error) {
      reject(error);
      return;
    }
    let settled = false;
    let current: { destroy(): void } | undefined;
    const finish = (error: unknown, value?: RangeResponse) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(value as RangeResponse);
    };
    const onAbort = () => {
      current?.destroy();
      finish(remoteError("ERR_ABORTED", `reading ${ctx.name} was aborted`, signal?.reason));
    };
    const run = async () => {
      let acquired: Awaited<ReturnType<WirePool["acquire"]>>;
      try {
        acquired = await pool.acquire();
      } catch (error) {
        finish(
          error instanceof WireClosed
            ? remoteError(
                "ERR_CLOSED",
                `${ctx.name}: the file has been closed; open it again to read`,
              )
            : error,
        );
        return;
      }
      const { connection, reused } = acquired;
      if (settled) {
        pool.release(connection); // aborted while waiting for a connection
        return;
      }
      current = connection;
      ctx.stats.requests++;
      let position = start;
      let meta: RangeResponse | undefined;
      let refusal: Error | undefined;
      connection.start(
        request,
        {
          onHead(head) {
            meta = responseMeta(head);
            const status = head.statusCode ?? 0;
            if (status !== 206) {
              // Never drain a body we do not want (a 200 may be the whole multi-GB file).
              refusal =
                statusError(ctx, pinned, status, head) ??
                remoteError("ERR_REMOTE_HTTP", `${ctx.name}: the server answered ${status}`);
              return null;
            }
            return checkPartial(ctx, pinned, meta, head, start, end) - start;
          },
          place: (max) => sink.place?.(position, max),
          onBody(bytes, inPlace) {
            sink.deliver(position, bytes, inPlace);
            position += bytes.length;
            ctx.stats.bytes += bytes.length;
          },
          onEnd(error, kind, receivedAnything) {
            if (error === null) {
              pool.release(connection);
              finish(refusal ?? null, meta);
            } else if (kind === "exchange") {
              finish(
                error instanceof WireOverrun
                  ? remoteError(
                      "ERR_REMOTE_PROTOCOL",
                      `${ctx.name}: the server sent more bytes than the range asked for`,
                    )
                  : error,
              );
            } else if (error instanceof WireTimeout) {
              finish(
                new Transient(
                  remoteError(
                    "ERR_REMOTE_TIMEOUT",
                    `${ctx.name}: the server sent nothing for ${ctx.timeoutMs} ms (raise remote.timeoutMs if it is just slow)`,
                  ),
                ),
              );
            } else if (!receivedAnything && reused) {
              // Maybe a kept-alive connection the server closed meanwhile: retry at once (it
              // still counts as an attempt, so a server that resets everything stays bounded).
              finish(new Transient(network(ctx, error).error, 0));
            } else if (receivedAnything) {
              finish(shortBody(ctx, position - start, end - start));
            } else {
              finish(network(ctx, error));
            }
          },
        },
        ctx.timeoutMs,
      );
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    void run();
  });
}
