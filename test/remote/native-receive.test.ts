// The addon's receive path for plain-http ranges (native/http-receive.h, src/source/native-wire.ts):
// the job itself against a scripted loopback TCP server (every response head it must refuse, body
// framing, timeouts, cancellation, kept-alive connections, IPv4 and IPv6), then whole loads from
// nginx through it, with the switch that turns it off for comparison.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeySet, loadFile, saveFile } from "../../src/index.js";
import {
  loadNativeBinding,
  type NativeHttpJob,
  type NativeHttpResult,
} from "../../src/native/addon.js";
import { randomTensor } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { type Nginx, startNginx } from "../support/nginx.js";
import { tempDir } from "../support/temp-dir.js";

const binding = loadNativeBinding();
const SIZE = 1000;
const content = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) & 255);

/** What the scripted server answers to one request: raw bytes, then close or stay, or stall. */
type Script = (request: string) => { send: (Buffer | string)[]; close?: boolean } | "stall";

interface Scripted {
  port: number;
  requests: string[];
  connections: number;
  script: Script;
  close(): Promise<void>;
}

async function startScripted(host: string): Promise<Scripted> {
  const sockets = new Set<Socket>();
  const state = {
    port: 0,
    requests: [] as string[],
    connections: 0,
    script: (() => "stall") as Script,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const request = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        state.requests.push(request);
        const answer = state.script(request);
        if (answer === "stall") return;
        for (const part of answer.send) socket.write(part);
        if (answer.close) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  state.port = (server.address() as { port: number }).port;
  return state;
}

/** A 206 for bytes [start, end) of `content`, with overrides of its header lines. */
function partial(start: number, end: number, extra: Record<string, string | null> = {}): string {
  const headers: Record<string, string | null> = {
    "Content-Range": `bytes ${start}-${end - 1}/${SIZE}`,
    "Content-Length": String(end - start),
    ETag: '"v1"',
    ...extra,
  };
  let head = "HTTP/1.1 206 Partial Content\r\n";
  for (const [name, value] of Object.entries(headers))
    if (value !== null) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

const body = (start: number, end: number) => Buffer.from(content.subarray(start, end));

function receive(
  port: number,
  overrides: Partial<NativeHttpJob> & { dest?: Uint8Array },
  host = "127.0.0.1",
): { id: number; done: Promise<NativeHttpResult>; dest: Uint8Array; progress: number[] } {
  const start = overrides.start ?? 100;
  const end = overrides.end ?? 400;
  const dest = overrides.dest ?? new Uint8Array(binding.allocateArena(end - start));
  let resolve: (result: NativeHttpResult) => void = () => {};
  const progress: number[] = [];
  const done = new Promise<NativeHttpResult>((settle) => {
    resolve = settle;
  });
  const id = binding.httpReceive!(
    {
      fd: -1,
      addresses: [host],
      port,
      request: Buffer.from(
        `GET /m HTTP/1.1\r\nhost: x\r\nrange: bytes=${start}-${end - 1}\r\n\r\n`,
      ),
      start,
      end,
      total: SIZE,
      etag: '"v1"',
      timeoutMs: 5000,
      segments: [{ dest, length: end - start }],
      ...overrides,
    },
    (result) => {
      if (result.outcome === "progress") progress.push(result.received);
      else resolve(result);
    },
  );
  return { id, done, dest, progress };
}

describe("the native range job", () => {
  let server: Scripted;
  beforeAll(async () => {
    server = await startScripted("127.0.0.1");
  });
  afterAll(() => server.close());

  it("receives a 206 body in place and keeps the connection for the next request", async () => {
    server.script = () => ({ send: [partial(100, 400), body(100, 400)] });
    const first = receive(server.port, {});
    const result = await first.done;
    expect(result.outcome).toBe("ok");
    expect(result.received).toBe(300);
    expect(result.reused).toBe(false);
    expect(Buffer.from(first.dest).equals(body(100, 400))).toBe(true);
    expect(result.fd).toBeGreaterThanOrEqual(0);
    // The request went out exactly as given.
    expect(server.requests.at(-1)).toBe(
      "GET /m HTTP/1.1\r\nhost: x\r\nrange: bytes=100-399\r\n\r\n",
    );
    const connections = server.connections;
    server.script = () => ({ send: [partial(0, 50), body(0, 50)] });
    const second = receive(server.port, { fd: result.fd, start: 0, end: 50 });
    const again = await second.done;
    expect(again.outcome).toBe("ok");
    expect(again.reused).toBe(true);
    expect(server.connections).toBe(connections);
    expect(binding.httpClose!(again.fd)).toBe(true);
    expect(binding.httpClose!(again.fd)).toBe(false); // no longer ours: never closed twice
  });

  it("drops the gap bytes between wanted pieces and splits a body over segments", async () => {
    server.script = () => ({ send: [partial(0, 30), body(0, 10), body(10, 30)] });
    const a = new Uint8Array(binding.allocateArena(10));
    const b = new Uint8Array(binding.allocateArena(10));
    const { done, progress } = receive(server.port, {
      start: 0,
      end: 30,
      segments: [
        { dest: a, length: 10 },
        { dest: null, length: 10 },
        { dest: b, length: 10 },
      ],
    });
    expect((await done).outcome).toBe("ok");
    // The first piece was reported complete before the job ended (its chunk can be decrypted).
    expect(progress.length).toBe(1);
    expect(progress[0]).toBeGreaterThanOrEqual(10);
    expect(Buffer.from(a).equals(body(0, 10))).toBe(true);
    expect(Buffer.from(b).equals(body(20, 30))).toBe(true);
  });

  const refused: [string, string][] = [
    ["a wrong Content-Range", partial(100, 400, { "Content-Range": `bytes 101-400/${SIZE}` })],
    ["another total size", partial(100, 400, { "Content-Range": "bytes 100-399/2000" })],
    ["a changed ETag", partial(100, 400, { ETag: '"v2"' })],
    ["a chunked body", partial(100, 400, { "Transfer-Encoding": "chunked" })],
    ["no Content-Length", partial(100, 400, { "Content-Length": null })],
    ["a Content-Length unlike the range", partial(100, 400, { "Content-Length": "299" })],
    ["two Content-Range headers", partial(100, 400, { "content-range": "bytes 100-399/1000" })],
    ["a 200", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"],
    ["a 412", "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n"],
    ["a malformed header line", "HTTP/1.1 206 Partial Content\r\nno colon here\r\n\r\n"],
    ["an obs-fold line", `${partial(100, 400).slice(0, -2)} folded\r\n\r\n`],
  ];
  it.each(refused)("refuses %s and hands the head back, writing nothing", async (_, head) => {
    server.script = () => ({ send: [head, body(100, 400)] });
    const { done, dest } = receive(server.port, {});
    const result = await done;
    expect(result.outcome).toBe("head");
    expect(result.head).toBe(head);
    expect(result.received).toBe(0);
    expect(result.fd).toBe(-1); // a refused response's connection is never reused
    expect(dest.every((byte) => byte === 0)).toBe(true);
  });

  it("reports bytes past the Content-Length, a short body and a huge head", async () => {
    // In one write, so that the extra bytes are there when the body ends.
    server.script = () => ({
      send: [
        Buffer.concat([
          Buffer.from(partial(100, 400)),
          body(100, 400),
          Buffer.from("HTTP/1.1 200 OK\r\n"),
        ]),
      ],
    });
    expect((await receive(server.port, {}).done).outcome).toBe("overrun");
    server.script = () => ({ send: [partial(100, 400), body(100, 250)], close: true });
    const short = await receive(server.port, {}).done;
    expect([short.outcome, short.received, short.anything]).toEqual(["short", 150, true]);
    server.script = () => ({ send: [`HTTP/1.1 206 OK\r\nx: ${"a".repeat(70_000)}\r\n\r\n`] });
    expect((await receive(server.port, {}).done).outcome).toBe("head-too-large");
    server.script = () => ({ send: [], close: true });
    const closed = await receive(server.port, {}).done;
    expect([closed.outcome, closed.anything]).toEqual(["network", false]);
  });

  it("times out a stalled response, and a cancel ends a stalled one at once", async () => {
    server.script = () => "stall";
    const started = Date.now();
    const slow = await receive(server.port, { timeoutMs: 200 }).done;
    expect(slow.outcome).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(3000);
    server.script = () => ({ send: [partial(100, 400), body(100, 200)] }); // then stalls mid-body
    const job = receive(server.port, { timeoutMs: 20_000 });
    setTimeout(() => binding.httpCancel!(job.id), 100);
    const cancelled = await job.done;
    expect(cancelled.outcome).toBe("cancelled");
    expect(cancelled.received).toBe(100);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("fails typed-ready on a refused connection and refuses bad jobs", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const refusedJob = await receive(closedPort, {}).done;
    expect([refusedJob.outcome, refusedJob.errorName]).toEqual(["network", "ECONNREFUSED"]);
    expect(() => receive(server.port, { addresses: ["localhost"] })).toThrow(TypeError);
    expect(() => receive(server.port, { addresses: [] })).toThrow(TypeError);
    // Tried in order: a refused first address (the server listens on 127.0.0.1 only) moves on.
    server.script = () => ({ send: [partial(100, 400), body(100, 400)] });
    const fallback = receive(server.port, { addresses: ["127.0.0.2", "127.0.0.1"] });
    const moved = await fallback.done;
    expect(moved.outcome).toBe("ok");
    expect(Buffer.from(fallback.dest).equals(body(100, 400))).toBe(true);
    binding.httpClose!(moved.fd);
    expect(() => receive(server.port, { fd: 0 })).toThrow(/not idle/);
    expect(() =>
      receive(server.port, {
        segments: [{ dest: new Uint8Array(binding.allocateArena(10)), length: 10 }],
      }),
    ).toThrow(RangeError);
  });

  it("connects over IPv6", async (context) => {
    let six: Scripted;
    try {
      six = await startScripted("::1");
    } catch {
      context.skip(); // no IPv6 loopback on this machine
      return;
    }
    try {
      six.script = () => ({ send: [partial(100, 400), body(100, 400)] });
      const job = receive(six.port, {}, "::1");
      const result = await job.done;
      expect(result.outcome).toBe("ok");
      expect(Buffer.from(job.dest).equals(body(100, 400))).toBe(true);
      binding.httpClose!(result.fd);
    } finally {
      await six.close();
    }
  });
});

describe("full loads from nginx through the native receiver", () => {
  const dir = tempDir("ct-native-receive-");
  const set = generateKeySet({ alg: "aes256gcm" });
  const tensors = { a: randomTensor(3_000_000), b: randomTensor(700_001) };
  let nginx: Nginx;
  let url: string;
  beforeAll(async () => {
    nginx = await startNginx("unused-token");
    const path = join(dir, "m.ct");
    await saveFile(path, tensors, {
      encryption: { encKey: set.keys[0], signKey: set.keys[1], chunkSize: 65536 },
    });
    copyFileSync(path, join(nginx.root, "m.ct"));
    url = `${nginx.origin}/m.ct`;
  });
  afterAll(() => nginx.stop());

  it("loads the same tensors with the receiver on and off (CRYPTOTENSORS_NATIVE_HTTP=0)", async () => {
    const before = binding.stats();
    const on = await loadFile(url, { keys: set, remote: { maxRangeBytes: 1 << 20 } });
    const during = binding.stats();
    expect(during.httpRanges - before.httpRanges).toBeGreaterThanOrEqual(3);
    expect(during.httpBytes - before.httpBytes).toBeGreaterThanOrEqual(3_700_001 - 65_536); // the first 64 KiB came with the open
    // Every chunk that arrived whole in a range body was decrypted by the thread that received
    // it (the first ones came with the open, and are decrypted by a pool plan).
    expect(during.httpDecrypts - before.httpDecrypts).toBeGreaterThanOrEqual(
      Math.ceil(3_000_000 / 65536) + Math.ceil(700_001 / 65536) - 2,
    );
    process.env.CRYPTOTENSORS_NATIVE_HTTP = "0";
    let off: Awaited<ReturnType<typeof loadFile>>;
    try {
      off = await loadFile(url, { keys: set });
    } finally {
      delete process.env.CRYPTOTENSORS_NATIVE_HTTP;
    }
    expect(binding.stats().httpRanges).toBe(during.httpRanges);
    expect(binding.stats().httpDecrypts).toBe(during.httpDecrypts);
    for (const name of ["a", "b"] as const) {
      expect(Buffer.from(on[name]!.data).equals(Buffer.from(tensors[name].data))).toBe(true);
      expect(Buffer.from(off[name]!.data).equals(Buffer.from(tensors[name].data))).toBe(true);
    }
  });

  it("a tampered chunk fails the load typed, on the receiving thread as with the receiver off", async () => {
    const bytes = readFileSync(join(nginx.root, "m.ct"));
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes[dataStart + 1_500_000] = (bytes[dataStart + 1_500_000] as number) ^ 1; // inside "a"
    writeFileSync(join(nginx.root, "tampered.ct"), bytes);
    const tampered = `${nginx.origin}/tampered.ct`;
    const before = binding.stats().httpDecrypts;
    const error = await expectCode(
      loadFile(tampered, { keys: set, remote: { maxRangeBytes: 1 << 20 } }),
      "ERR_DECRYPTION_FAILED",
    );
    expect(error.message).toContain('"a"');
    expect(binding.stats().httpDecrypts).toBeGreaterThan(before);
    process.env.CRYPTOTENSORS_NATIVE_HTTP = "0";
    try {
      const off = await expectCode(loadFile(tampered, { keys: set }), "ERR_DECRYPTION_FAILED");
      expect(off.message).toContain('"a"');
    } finally {
      delete process.env.CRYPTOTENSORS_NATIVE_HTTP;
    }
    // Only the tampered tensor's chunk fails: a slice of "b" still loads.
    const loaded = await loadFile(tampered, { keys: set, tensors: ["b"] });
    expect(Buffer.from(loaded.b!.data).equals(Buffer.from(tensors.b.data))).toBe(true);
  });

  it("connects to a host name by the addresses one lookup gives (localhost)", async () => {
    const before = binding.stats().httpRanges;
    const loaded = await loadFile(url.replace("127.0.0.1", "localhost"), { keys: set });
    expect(Buffer.from(loaded.b!.data).equals(Buffer.from(tensors.b.data))).toBe(true);
    expect(binding.stats().httpRanges).toBeGreaterThan(before);
  });

  it("an aborted load rejects ERR_ABORTED", async () => {
    const controller = new AbortController();
    const load = loadFile(url, {
      keys: set,
      signal: controller.signal,
      remote: { maxRangeBytes: 65536, maxConnections: 2 },
    });
    setTimeout(() => controller.abort(), 5);
    await expectCode(load, "ERR_ABORTED");
  });
});
