// remote.cache against the fault server on 127.0.0.1: a second load of the same file sends no data
// request (only the open's speculative header read), on both backends; a changed ETag misses; only
// ciphertext is kept (a plain file stores nothing), in 0600 files under a 0700 directory; the size
// bound evicts the least recently used file; a damaged entry fails decryption, never passes.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeySet, loadFile, saveFile } from "../../src/index.js";
import { randomTensor } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { type FaultServer, startFaultServer } from "../support/fault-server.js";
import { tempDir } from "../support/temp-dir.js";

const dir = tempDir("ct-remote-cache-");
const set = generateKeySet({ alg: "aes256gcm" });
const tensors = { w: randomTensor(600_000), b: randomTensor(5000) };
let server: FaultServer;
let plainServer: FaultServer;
let headerBytes: number;
const fast = { retries: 1, retryDelayMs: 10, timeoutMs: 5000 };

beforeAll(async () => {
  const path = join(dir, "m.ct");
  await saveFile(path, tensors, {
    encryption: { encKey: set.keys[0], signKey: set.keys[1], chunkSize: 16384 },
  });
  const bytes = readFileSync(path);
  headerBytes = 8 + Number(bytes.readBigUInt64LE(0));
  server = await startFaultServer(bytes);
  await saveFile(join(dir, "plain.safetensors"), tensors);
  plainServer = await startFaultServer(readFileSync(join(dir, "plain.safetensors")));
});
afterAll(async () => {
  await Promise.all([server?.close(), plainServer?.close()]);
});

/** Every cache entry file (not the "used" markers) with its size and mode. */
function entries(cacheDir: string): { path: string; size: number; mode: number }[] {
  return readdirSync(cacheDir).flatMap((key) =>
    readdirSync(join(cacheDir, key))
      .filter((name) => name !== "used")
      .map((name) => {
        const info = statSync(join(cacheDir, key, name));
        return { path: join(cacheDir, key, name), size: info.size, mode: info.mode & 0o777 };
      }),
  );
}

describe.each(["native", "fallback"] as const)("remote.cache on the %s backend", (backend) => {
  it("a second load sends no data request; a changed ETag misses", async () => {
    const cacheDir = join(dir, `cache-${backend}`);
    const options = { keys: set, backend, remote: { ...fast, cache: { dir: cacheDir } } };
    server.reset();
    server.etag = '"v1"';
    const first = await loadFile(server.url, options);
    expect(Buffer.from(first["w"]!.data).equals(tensors.w.data)).toBe(true);
    expect(server.bytes).toBeGreaterThan(headerBytes + 600_000);
    const stored = entries(cacheDir);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((entry) => entry.mode === 0o600)).toBe(true);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    // Ciphertext only: the stored bytes never hold a run of the plaintext.
    const probe = Buffer.from(tensors.w.data.subarray(1000, 1064));
    expect(stored.some((entry) => readFileSync(entry.path).includes(probe))).toBe(false);

    server.reset();
    const second = await loadFile(server.url, options);
    expect(Buffer.from(second["w"]!.data).equals(tensors.w.data)).toBe(true);
    expect(Buffer.from(second["b"]!.data).equals(tensors.b.data)).toBe(true);
    // Only the open's speculative first read (header and the first tensor bytes it holds).
    expect(server.requests).toBe(1);
    expect(server.bytes).toBe(64 << 10);

    server.reset();
    server.etag = '"v2"'; // the same bytes under a new identity: a different entry
    await loadFile(server.url, options);
    expect(server.bytes).toBeGreaterThan(headerBytes + 600_000);
    server.etag = '"v1"';
  });
});

describe("remote.cache limits", () => {
  it("a plain file stores nothing; the bound evicts the least recently used file", async () => {
    const cacheDir = join(dir, "cache-bound");
    const plain = await loadFile(plainServer.url, {
      remote: { ...fast, cache: { dir: cacheDir } },
    });
    expect(Buffer.from(plain["w"]!.data).equals(tensors.w.data)).toBe(true);
    expect(entries(cacheDir)).toEqual([]);
    const cache = { dir: cacheDir, maxBytes: 700_000 }; // one file's ciphertext, not two
    server.etag = '"a"';
    await loadFile(server.url, { keys: set, remote: { ...fast, cache } });
    const afterA = entries(cacheDir).reduce((sum, entry) => sum + entry.size, 0);
    // Less the first 64 KiB, which come with the open's speculative read and are not kept.
    expect(afterA).toBeGreaterThanOrEqual(600_000 + 5000 - (64 << 10));
    server.etag = '"b"';
    await loadFile(server.url, { keys: set, remote: { ...fast, cache } });
    const total = entries(cacheDir).reduce((sum, entry) => sum + entry.size, 0);
    expect(total).toBeLessThanOrEqual(700_000);
    // "a" was evicted: loading it again fetches its data.
    server.reset();
    server.etag = '"a"';
    await loadFile(server.url, { keys: set, remote: { ...fast, cache } });
    expect(server.bytes).toBeGreaterThan(headerBytes + 600_000);
    server.etag = '"v1"';
  });

  it("a damaged entry fails decryption instead of passing for data", async () => {
    const cacheDir = join(dir, "cache-damaged");
    const options = { keys: set, remote: { ...fast, cache: { dir: cacheDir } } };
    server.etag = '"d"';
    await loadFile(server.url, options);
    const entry = entries(cacheDir)[0]!;
    const bytes = readFileSync(entry.path);
    bytes[100]! ^= 1;
    writeFileSync(entry.path, bytes);
    await expectCode(loadFile(server.url, options), "ERR_DECRYPTION_FAILED");
    server.etag = '"v1"';
  });

  it("refuses bad cache options", async () => {
    await expect(loadFile(server.url, { remote: { cache: { dir: "" } } })).rejects.toThrow(
      TypeError,
    );
    await expect(
      loadFile(server.url, { remote: { cache: { dir: "x", maxBytes: 0 } } }),
    ).rejects.toThrow(RangeError);
  });
});
