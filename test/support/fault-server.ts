// A node:http server on 127.0.0.1 that serves one file with correct range semantics (strong ETag,
// If-Match/If-Range, exact Content-Range), and injects on request what a well-behaved server never
// does: ignore Range, change the ETag, truncate a body, send a wrong Content-Range, stall, reset
// the connection, fail with a status. It counts requests and body bytes sent.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { Socket } from "node:net";

export type Fault =
  | "ignore-range"
  | "truncate"
  | "wrong-range"
  | "stall"
  | "reset"
  | "no-identity"
  | { status: number };

export interface FaultServer {
  url: string;
  /** Requests received and body bytes sent so far. */
  requests: number;
  bytes: number;
  /** Most connections open at once since the last reset. */
  maxOpen: number;
  /** Headers of every request, in order. */
  seen: IncomingHttpHeaders[];
  /** Decides the fault of request `n` (0-based); undefined serves it correctly. */
  fault: (n: number, headers: IncomingHttpHeaders) => Fault | undefined;
  /** The ETag served (change it to simulate a replaced file). */
  etag: string;
  /** Resets counters and the fault. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Serves `bytes` at `/model.safetensors`.
 *
 * @example
 * ```ts
 * const server = await startFaultServer(bytes);
 * server.fault = (n) => (n === 1 ? "reset" : undefined);
 * await loadFile(server.url, { keys });
 * await server.close();
 * ```
 */
export async function startFaultServer(bytes: Uint8Array): Promise<FaultServer> {
  const sockets = new Set<Socket>();
  const state: FaultServer = {
    url: "",
    requests: 0,
    bytes: 0,
    maxOpen: 0,
    seen: [],
    fault: () => undefined,
    etag: '"v1"',
    reset() {
      state.requests = 0;
      state.bytes = 0;
      state.maxOpen = sockets.size;
      state.seen = [];
      state.fault = () => undefined;
      state.etag = '"v1"';
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const n = state.requests++;
    state.seen.push(req.headers);
    const fault = state.fault(n, req.headers);
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault === "stall") return; // never answers; the client's timeout must fire
    if (typeof fault === "object") {
      res.writeHead(fault.status, { "content-length": "0" }).end();
      return;
    }
    const identity: Record<string, string> =
      fault === "no-identity" ? {} : { etag: state.etag, "accept-ranges": "bytes" };
    const ifMatch = req.headers["if-match"];
    if (ifMatch !== undefined && ifMatch !== state.etag) {
      res.writeHead(412, { "content-length": "0" }).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    const send = (status: number, start: number, end: number, headers: Record<string, string>) => {
      const body = bytes.subarray(start, end);
      const cut = fault === "truncate" ? body.subarray(0, body.length >> 1) : body;
      res.writeHead(status, { ...identity, "content-length": String(body.length), ...headers });
      state.bytes += cut.length;
      if (cut === body) res.end(body);
      else res.write(cut, () => req.socket.destroy());
    };
    if (!range || fault === "ignore-range" || (ifRange !== undefined && ifRange !== state.etag)) {
      send(200, 0, bytes.length, {});
      return;
    }
    const start = Number(range[1]);
    if (start >= bytes.length) {
      res.writeHead(416, { ...identity, "content-range": `bytes */${bytes.length}` }).end();
      return;
    }
    const end = Math.min(bytes.length, Number(range[2]) + 1);
    const shift = fault === "wrong-range" ? 1 : 0;
    send(206, start, end, {
      "content-range": `bytes ${start + shift}-${end - 1 + shift}/${bytes.length}`,
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    state.maxOpen = Math.max(state.maxOpen, sockets.size);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  state.url = `http://127.0.0.1:${port}/model.safetensors`;
  return state;
}
