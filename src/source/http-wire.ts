// A minimal HTTP/1.1 connection for the range GETs of a pinned plain-http resource. node:http
// hands every 64 KiB read to JS in a fresh Buffer, parses and emits it, and the copies feed the
// garbage collector: over loopback it moved ~0.3 GB/s on the 2-core benchmark machine, the bound
// of a full remote load (issue 16). Here net.Socket's `onread` reads the body straight into memory
// the caller names (its own staging memory, never a user's buffer, which could be transferred
// mid-read), or into the connection's buffer, from which the caller copies. Only what a range
// response needs is understood: a status line, headers, and a Content-Length body; anything else
// (chunked bodies, HTTP/1.0 keep-alive) is left to node:http by the caller (WireUnsupported).
import * as net from "node:net";
import { ConnectionBudget } from "./connection-budget.js";

/** The parts of a response the checks of http-request.ts read (node's IncomingMessage fits). */
export interface ResponseHead {
  statusCode?: number | undefined;
  statusMessage?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** What a request does with its response; all called on the JS thread, in order. */
export interface WireExchange {
  /**
   * The head arrived: returns how many body bytes to read (null: none; the connection is then
   * dropped, never drained) or throws to fail the request.
   */
  onHead(head: ResponseHead): number | null;
  /** Memory the next `max` body bytes may be read into directly, or undefined (then copied). */
  place(max: number): Uint8Array | undefined;
  /** Body bytes arrived; `inPlace`: they are already in the memory place() returned. */
  onBody(bytes: Uint8Array, inPlace: boolean): void;
  /**
   * The exchange ended: `error` null when the whole body arrived (or onHead wanted none), else
   * the reason: thrown by a callback above or a framing check (`kind` "exchange"), or the
   * connection's (failed, closed, timed out: "network"). `receivedAnything`: response bytes came.
   */
  onEnd(error: Error | null, kind: "exchange" | "network", receivedAnything: boolean): void;
}

/** A response this client does not frame (e.g. a chunked 206): retry it with node:http. */
export class WireUnsupported extends Error {}

/** Nothing arrived for the exchange's timeout. */
export class WireTimeout extends Error {}

/** The response carried more bytes than its Content-Length. */
export class WireOverrun extends Error {}

/** The pool was destroyed (the source closed) while a request waited for a connection. */
export class WireClosed extends Error {}

const HEAD_LIMIT = 64 << 10;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

class WireConnection {
  readonly socket: net.Socket;
  readonly #buffer = Buffer.allocUnsafe(HEAD_LIMIT);
  #exchange: WireExchange | undefined;
  #headBytes = 0;
  /** Body bytes still expected; -1 while the head is being read. */
  #bodyLeft = -1;
  #placed: Uint8Array | undefined;
  #received = false;
  reusable = false;
  closed = false;

  constructor(url: URL, onClosed: (connection: WireConnection) => void) {
    this.socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      noDelay: true,
      // Called before every read: where the next bytes go. Outside a body it is our own buffer,
      // so a later response's head can never land in memory placed for an earlier one.
      onread: {
        buffer: () => this.#nextBuffer(),
        callback: (n) => {
          this.#onRead(n);
          return true;
        },
      },
    });
    this.socket.on("error", (error) => this.#end(error, "network"));
    this.socket.on("timeout", () => this.#end(new WireTimeout("no progress"), "network"));
    this.socket.on("close", () => {
      this.closed = true;
      this.#end(new Error("the connection closed"), "network");
      onClosed(this);
    });
  }

  /** Sends `request`; `exchange` hears of its response. Fails if nothing arrives for `timeoutMs`. */
  start(request: string, exchange: WireExchange, timeoutMs: number): void {
    this.#exchange = exchange;
    this.socket.setTimeout(timeoutMs);
    this.#headBytes = 0;
    this.#bodyLeft = -1;
    this.#placed = undefined;
    this.#received = false;
    this.reusable = false;
    this.socket.write(request, "latin1");
  }

  destroy(): void {
    this.#exchange = undefined;
    this.socket.destroy();
  }

  #nextBuffer(): Uint8Array {
    this.#placed = undefined;
    if (this.#exchange === undefined || this.#bodyLeft < 0)
      return this.#buffer.subarray(this.#headBytes);
    if (this.#bodyLeft === 0) return this.#buffer;
    this.#placed = this.#exchange.place(this.#bodyLeft);
    return this.#placed ?? this.#buffer.subarray(0, Math.min(HEAD_LIMIT, this.#bodyLeft));
  }

  #onRead(n: number): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted for the next request.
      this.socket.destroy();
      return;
    }
    this.#received = true;
    try {
      if (this.#bodyLeft < 0) {
        this.#headBytes += n;
        this.#parseHead(exchange);
      } else {
        const bytes = this.#placed ? this.#placed.subarray(0, n) : this.#buffer.subarray(0, n);
        this.#body(exchange, bytes, this.#placed !== undefined);
      }
    } catch (error) {
      this.#end(error as Error, "exchange");
    }
  }

  #parseHead(exchange: WireExchange): void {
    const end = this.#buffer.subarray(0, this.#headBytes).indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.#headBytes >= HEAD_LIMIT)
        throw new WireUnsupported("the response head is larger than 64 KiB");
      return;
    }
    const { head, keepAlive } = parseResponseHead(this.#buffer.toString("latin1", 0, end));
    const wanted = exchange.onHead(head);
    if (wanted === null) {
      this.#end(null, "exchange");
      this.socket.destroy();
      return;
    }
    if (
      head.headers["transfer-encoding"] !== undefined ||
      head.headers["content-length"] !== String(wanted)
    )
      throw new WireUnsupported("a body not framed by a matching Content-Length");
    this.#bodyLeft = wanted;
    this.reusable = keepAlive;
    const early = this.#buffer.subarray(end + 4, this.#headBytes);
    if (early.length > 0 || wanted === 0) this.#body(exchange, early, false);
  }

  #body(exchange: WireExchange, bytes: Uint8Array, inPlace: boolean): void {
    if (bytes.length > this.#bodyLeft) {
      this.reusable = false;
      throw new WireOverrun("more bytes than the Content-Length");
    }
    this.#bodyLeft -= bytes.length;
    if (bytes.length > 0) exchange.onBody(bytes, inPlace);
    if (this.#bodyLeft === 0) this.#end(null, "exchange");
  }

  #end(error: Error | null, kind: "exchange" | "network"): void {
    const exchange = this.#exchange;
    if (exchange === undefined) return;
    this.#exchange = undefined;
    this.#bodyLeft = -1;
    this.#headBytes = 0;
    if (error !== null) {
      this.reusable = false;
      this.socket.destroy();
    }
    exchange.onEnd(error, kind, this.#received);
  }
}

/**
 * Parses a response head (status line and header lines, without the blank line): repeated headers
 * are joined with ", " as node:http does; throws WireUnsupported for what is not HTTP/1.x.
 *
 * @example
 * ```ts
 * parseResponseHead("HTTP/1.1 206 Partial Content\r\ncontent-length: 10").head.statusCode; // 206
 * ```
 */
export function parseResponseHead(text: string): { head: ResponseHead; keepAlive: boolean } {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!status) throw new WireUnsupported("not an HTTP/1.x status line");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name)) throw new WireUnsupported("a malformed header line");
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const connection = (headers.connection ?? "").toLowerCase();
  return {
    head: { statusCode: Number(status[2]), statusMessage: status[3] ?? "", headers },
    keepAlive: status[1] === "1" && !connection.includes("close"),
  };
}

/**
 * At most `maxConnections` keep-alive connections to one origin, shared by every request of a
 * source (a caller past the bound waits for one to be free), for {@link attemptWire}.
 *
 * @example
 * ```ts
 * const pool = new WirePool(new URL("http://127.0.0.1:8080/m.safetensors"), 6);
 * const { connection } = await pool.acquire();
 * pool.release(connection);
 * pool.destroy();
 * ```
 */
export class WirePool {
  readonly #idle: WireConnection[] = [];
  readonly #all = new Set<WireConnection>();
  #destroyed = false;
  /** Shared with the source's other transport (native-wire.ts): one bound for both. */
  readonly budget: ConnectionBudget;

  constructor(
    readonly url: URL,
    maxConnections: number | ConnectionBudget,
  ) {
    this.budget =
      typeof maxConnections === "number" ? new ConnectionBudget(maxConnections) : maxConnections;
    this.budget.addEvictor(() => {
      const idle = this.#idle.pop();
      idle?.destroy(); // its close gives the slot back
      return idle !== undefined;
    });
  }

  /** An idle connection (`reused`), else a new one within the bound, else the next one freed. */
  async acquire(): Promise<{ connection: WireConnection; reused: boolean }> {
    for (;;) {
      if (this.#destroyed) throw new WireClosed("the source was closed");
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        idle.socket.ref();
        return { connection: idle, reused: true };
      }
      if (this.budget.tryTake()) {
        const connection = new WireConnection(this.url, (closed) => {
          const at = this.#idle.indexOf(closed);
          if (at >= 0) this.#idle.splice(at, 1);
          if (this.#all.delete(closed)) this.budget.give();
        });
        this.#all.add(connection);
        return { connection, reused: false };
      }
      await this.budget.changed();
    }
  }

  /** Returns a connection whose exchange ended; kept only if it can carry another request. */
  release(connection: WireConnection): void {
    if (this.#destroyed || !connection.reusable || connection.closed) {
      connection.destroy(); // its close gives the slot back
      return;
    }
    connection.socket.setTimeout(0);
    connection.socket.unref(); // an idle connection must not keep the process alive
    this.#idle.push(connection);
    this.budget.notify();
  }

  destroy(): void {
    this.#destroyed = true;
    for (const connection of this.#all) {
      connection.destroy();
      this.budget.give();
    }
    this.#all.clear();
    this.#idle.length = 0;
    this.budget.notify();
  }
}

/**
 * Writes a GET request head for `url` (path and query) with `headers`; throws TypeError for a
 * header name or value node:http would refuse too.
 *
 * @example
 * ```ts
 * wireRequest(new URL("http://h/m"), { range: "bytes=0-9" }); // "GET /m HTTP/1.1\r\nhost: h\r\n…"
 * ```
 */
export function wireRequest(url: URL, headers: Record<string, string>): string {
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value))
      throw new TypeError(`remote header ${JSON.stringify(name)} has an invalid name or value`);
    if (name.toLowerCase() === "host") continue;
    text += `${name}: ${value}\r\n`;
  }
  return `${text}connection: keep-alive\r\n\r\n`;
}
