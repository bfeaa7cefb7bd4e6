// The HTTP range source against a node:http server that misbehaves on purpose: signature and policy
// are decided from the header bytes alone (request and byte counts), a slice fetches exactly its
// covering chunks, every later range is pinned with If-Match/If-Range, and each fault (Range
// ignored, ETag changed mid-read, truncated body, wrong Content-Range, stall, reset, 5xx, no
// identity) ends in its typed error or is cured by a bounded retry.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ErrorCode,
  generateKeySet,
  loadFile,
  openFile,
  openHttpSource,
  saveFile,
} from "../../src/index.js";
import { randomTensor } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { type FaultServer, startFaultServer } from "../support/fault-server.js";
import { tempDir } from "../support/temp-dir.js";

const dir = tempDir("ct-remote-faults-");
const set = generateKeySet({ alg: "aes256gcm" });
const CHUNK = 1024;
const big = randomTensor(4 << 20);
const small = randomTensor(10_000);
const DENY = `package model
import rego.v1
default allow := false
allow if input.claims.tier == "pro"
`;
let server: FaultServer;
let bytes: Uint8Array;
let headerBytes: number;
const fast = { retries: 2, retryDelayMs: 10, timeoutMs: 2000 };

beforeAll(async () => {
  const path = join(dir, "model.ct");
  await saveFile(
    path,
    { big, small },
    {
      encryption: {
        encKey: set.keys[0],
        signKey: set.keys[1],
        chunkSize: CHUNK,
        policy: { local: DENY },
      },
    },
  );
  bytes = readFileSync(path);
  headerBytes = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
  expect(headerBytes).toBeGreaterThan(64 << 10); // 4096 chunk tags: a second header read
  server = await startFaultServer(bytes);
});
afterAll(async () => {
  await server?.close();
});

const pro = { keys: set, claims: { tier: "pro" }, remote: fast };

describe("remote reads are verified before any data byte is fetched", () => {
  it("a denied policy or a wrong signature costs the header reads only", async () => {
    server.reset();
    await expectCode(
      loadFile(server.url, { keys: set, claims: { tier: "free" } }),
      "ERR_POLICY_DENIED",
    );
    expect(server.requests).toBe(2); // speculative 64 KiB, then the rest of the header
    expect(server.bytes).toBe(headerBytes);
    server.reset();
    await expectCode(
      loadFile(server.url, { keys: generateKeySet({ alg: "aes256gcm" }) }),
      "ERR_SIGNATURE_INVALID",
    );
    expect(server.bytes).toBe(headerBytes);
  });

  it("a slice fetches the header plus exactly its covering chunks, every range pinned", async () => {
    server.reset();
    const source = await openHttpSource(server.url, fast);
    const file = await openFile(source, pro);
    expect(source.stats).toEqual({ requests: 2, bytes: headerBytes, cachedBytes: 0 });
    const start = 1_000_500; // 1% of the tensor, not chunk aligned
    const end = start + 41_943;
    const dest = new Uint8Array(end - start);
    await file.readRange("big", start, end, dest);
    expect(Buffer.from(dest).equals(big.data.subarray(start, end))).toBe(true);
    const covering = (Math.floor((end - 1) / CHUNK) - Math.floor(start / CHUNK) + 1) * CHUNK;
    expect(source.stats.bytes - headerBytes).toBe(covering);
    expect(server.bytes).toBe(headerBytes + covering);
    expect(server.requests).toBe(3);
    for (const headers of server.seen.slice(1)) {
      expect(headers["if-match"]).toBe('"v1"');
      expect(headers["if-range"]).toBe('"v1"');
    }
    await file.close();
  });

  it("concurrent reads of one source share its bounded pool of connections", async () => {
    const source = await openHttpSource(server.url, {
      ...fast,
      maxConnections: 2,
      maxRangeBytes: 64 << 10,
    });
    const file = await openFile(source, pro);
    server.reset(); // counts the connections open from now on (the open's one is kept alive)
    const reads = Array.from({ length: 4 }, (_, i) => {
      const dest = new Uint8Array(1 << 20);
      return file.readRange("big", i << 20, (i + 1) << 20, dest).then(() => dest);
    });
    const results = await Promise.all(reads);
    results.forEach((dest, i) => {
      expect(Buffer.from(dest).equals(big.data.subarray(i << 20, (i + 1) << 20))).toBe(true);
    });
    expect(server.requests).toBeGreaterThanOrEqual(64);
    expect(server.maxOpen).toBeLessThanOrEqual(2 + 1);
    await file.close();
  });

  it("a full load fetches every byte once, in parallel ranges", async () => {
    server.reset();
    const loaded = await loadFile(server.url, pro);
    expect(Buffer.from(loaded["big"]!.data).equals(big.data)).toBe(true);
    expect(server.bytes).toBe(bytes.length);
    expect(server.requests).toBeLessThanOrEqual(2 + Math.ceil(bytes.length / (8 << 20)) + 1);
  });
});

describe("server faults", () => {
  const load = (remote: object = {}, signal?: AbortSignal) =>
    loadFile(server.url, { ...pro, remote: { ...fast, ...remote }, ...(signal ? { signal } : {}) });

  it("a server that ignores Range is refused at the first request", async () => {
    server.reset();
    server.fault = () => "ignore-range";
    await expectCode(load(), "ERR_REMOTE_NO_RANGES");
    expect(server.requests).toBe(1);
  });

  it("with remote.allowFullDownload such a server is downloaded once, whole, and checked", async () => {
    for (const backend of ["native", "fallback"] as const) {
      server.reset();
      server.fault = () => "ignore-range";
      const loaded = await loadFile(server.url, {
        ...pro,
        backend,
        remote: { ...fast, allowFullDownload: true },
      });
      expect(Buffer.from(loaded["big"]!.data).equals(big.data)).toBe(true);
      expect(server.requests).toBe(2); // the refused range (body never drained) + one download
    }
    // A truncated download is retried, and refused typed when it stays truncated.
    server.reset();
    server.fault = (n) => (n === 1 ? "truncate" : "ignore-range");
    const retried = await load({ allowFullDownload: true });
    expect(Buffer.from(retried["small"]!.data).equals(small.data)).toBe(true);
    server.reset();
    server.fault = (n) => (n === 0 ? "ignore-range" : "truncate");
    await expectCode(load({ allowFullDownload: true }), "ERR_REMOTE_PROTOCOL");
    expect(server.requests).toBe(1 + 1 + fast.retries);
    // The policy is still decided from the verified header: no claims, no tensors.
    server.reset();
    server.fault = () => "ignore-range";
    await expectCode(
      loadFile(server.url, { keys: set, remote: { ...fast, allowFullDownload: true } }),
      "ERR_POLICY_DENIED",
    );
    await expect(load({ allowFullDownload: "yes" })).rejects.toThrow(TypeError);
  });

  it("a file replaced mid-read (new ETag) is an error, never a mix", async () => {
    server.reset();
    server.fault = (n) => {
      if (n === 4) server.etag = '"v2"';
      return undefined;
    };
    await expectCode(load({ maxRangeBytes: 1 << 20, maxConnections: 1 }), "ERR_REMOTE_CHANGED");
    expect(server.requests).toBe(5);
    server.reset();
    // A server that ignores If-Match but honours If-Range answers 200: still detected.
    const file = await openFile(server.url, pro);
    server.etag = '"v3"';
    server.fault = (_n, headers) => {
      delete headers["if-match"];
      return undefined;
    };
    await expectCode(file.getTensor("big"), "ERR_REMOTE_CHANGED");
    await file.close();
  });

  it("a truncated body or a reset connection is retried, and fails typed when it persists", async () => {
    for (const fault of ["truncate", "reset", { status: 503 }] as const) {
      server.reset();
      server.fault = (n) => (n === 2 ? fault : undefined);
      const loaded = await load();
      expect(Buffer.from(loaded["small"]!.data).equals(small.data)).toBe(true);
    }
    const persistent: [ReturnType<FaultServer["fault"]>, ErrorCode][] = [
      ["truncate", "ERR_REMOTE_PROTOCOL"],
      ["reset", "ERR_IO"],
      [{ status: 503 }, "ERR_REMOTE_HTTP"],
      [{ status: 404 }, "ERR_REMOTE_HTTP"],
    ];
    for (const [fault, code] of persistent) {
      server.reset();
      server.fault = (n) => (n >= 2 ? fault : undefined);
      await expectCode(load({ maxConnections: 1 }), code);
      expect(server.requests).toBeLessThanOrEqual(2 + 3);
    }
  });

  it("a wrong Content-Range or a server without identity is refused", async () => {
    server.reset();
    server.fault = (n) => (n === 2 ? "wrong-range" : undefined);
    await expectCode(load(), "ERR_REMOTE_PROTOCOL");
    server.reset();
    server.fault = () => "wrong-range";
    await expectCode(load(), "ERR_REMOTE_PROTOCOL");
    server.reset();
    server.fault = () => "no-identity";
    await expectCode(load(), "ERR_REMOTE_PROTOCOL");
  });

  it("a stalled server times out, and an AbortSignal stops a load at once", async () => {
    server.reset();
    server.fault = (n) => (n >= 2 ? "stall" : undefined);
    const started = Date.now();
    await expectCode(load({ timeoutMs: 200, retries: 1 }), "ERR_REMOTE_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(10_000);
    server.reset();
    server.fault = (n) => (n >= 2 ? "stall" : undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expectCode(load({ timeoutMs: 30_000 }, controller.signal), "ERR_ABORTED");
  });
});
