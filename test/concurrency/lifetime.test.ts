// Lifetime across threads and processes, run on the compiled library (compiled.ts): the same
// file opened in several worker threads at once; a process that exits with reads in flight; and
// memory back to its baseline after 100 open/read/close cycles (in a child with --expose-gc).
import { tempDir } from "../support/temp-dir.js";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeySet } from "../../src/keys/keyring.js";
import { saveFile } from "../../src/writer/save-file.js";
import { COMPILED_ENV, compileLibrary } from "./compiled.js";

const run = promisify(execFile);
const dir = tempDir("ct-life-");
const keySet = generateKeySet({ encKid: "e", signKid: "s" });
const keys = { keys: [...keySet.keys] };
const weight = new Uint8Array(randomBytes(3 << 20));
const path = join(dir, "model.safetensors");
let compiled: Awaited<ReturnType<typeof compileLibrary>>;

beforeAll(async () => {
  compiled = await compileLibrary();
  await saveFile(
    path,
    { weight: { dtype: "U8", shape: [weight.length], data: weight } },
    {
      encryption: { encKey: keySet.keys[0], signKey: keySet.keys[1], chunkSize: 64 * 1024 },
    },
  );
}, 120_000);
afterAll(() => {
  compiled?.cleanup();
});

/** Runs an ES module source in a child node process; resolves with its stdout. */
async function child(source: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, [...args, "--input-type=module", "-e", source], {
    env: {
      ...COMPILED_ENV,
      CT_INDEX: compiled.index,
      CT_PATH: path,
      CT_KEYS: JSON.stringify(keys),
    },
    timeout: 60_000,
  });
  return stdout;
}

describe("worker threads", () => {
  it("opens and decrypts the same file in four workers at once, on both backends", async () => {
    const source = `
      import { parentPort, workerData } from "node:worker_threads";
      import { createHash } from "node:crypto";
      const { openFile } = await import(workerData.index);
      const file = await openFile(workerData.path, { keys: workerData.keys, backend: workerData.backend });
      const reads = await Promise.all(Array.from({ length: 20 }, () => file.getTensor("weight")));
      await file.close();
      parentPort.postMessage(reads.map((t) => createHash("sha256").update(t.data).digest("hex")));`;
    const expected = (await import("node:crypto"))
      .createHash("sha256")
      .update(weight)
      .digest("hex");
    const workers = ["native", "fallback", "native", "fallback"].map(
      (backend) =>
        new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
            workerData: { index: pathToFileURL(compiled.index).href, path, keys, backend },
            env: COMPILED_ENV,
          });
          worker.once("message", resolve);
          worker.once("error", reject);
          worker.once(
            "exit",
            (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)),
          );
        }),
    );
    for (const digests of await Promise.all(workers)) {
      expect(digests).toHaveLength(20);
      expect(new Set(digests)).toEqual(new Set([expected]));
    }
  });

  it("terminates a worker with native reads in flight without crashing the process", async () => {
    const source = `
      import { parentPort, workerData } from "node:worker_threads";
      const { openFile } = await import(workerData.index);
      const file = await openFile(workerData.path, { keys: workerData.keys, backend: "native" });
      for (let i = 0; i < 50; i++) file.getTensor("weight").catch(() => {});
      parentPort.postMessage("started");`;
    for (let round = 0; round < 5; round++) {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
        workerData: { index: pathToFileURL(compiled.index).href, path, keys },
        env: COMPILED_ENV,
      });
      await new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      await worker.terminate();
    }
  });
});

describe("processes", () => {
  it("exits cleanly (code 0, no signal) with reads in flight", async () => {
    for (const backend of ["native", "fallback"]) {
      const out = await child(`
        const { openFile } = await import(process.env.CT_INDEX);
        const file = await openFile(process.env.CT_PATH, { keys: JSON.parse(process.env.CT_KEYS), backend: "${backend}" });
        for (let i = 0; i < 64; i++) file.getTensor("weight").catch((e) => { console.error(e); process.exitCode = 3; });
        console.log("exiting");
        process.exit(0);`);
      expect(out.trim()).toBe("exiting");
    }
  });

  it("returns to its memory baseline after 100 open/read/close cycles", async () => {
    // RSS and external (ArrayBuffer + addon) memory after warm-up vs after 100 more cycles: a leak
    // of one tensor per cycle would be 300 MB; the bound leaves room for allocator noise only.
    const out = await child(
      `
      const { openFile } = await import(process.env.CT_INDEX);
      const keys = JSON.parse(process.env.CT_KEYS);
      async function cycle(backend) {
        const file = await openFile(process.env.CT_PATH, { keys, backend });
        await file.getTensor("weight");
        await file.close();
      }
      const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); } };
      for (let i = 0; i < 10; i++) await cycle(i % 2 ? "native" : "fallback");
      await settle();
      const before = process.memoryUsage();
      for (let i = 0; i < 100; i++) await cycle(i % 2 ? "native" : "fallback");
      await settle();
      const after = process.memoryUsage();
      console.log(JSON.stringify({ rss: after.rss - before.rss, external: after.external - before.external, arrayBuffers: after.arrayBuffers - before.arrayBuffers }));`,
      ["--expose-gc"],
    );
    const growth = JSON.parse(out) as { rss: number; external: number; arrayBuffers: number };
    expect(growth.external).toBeLessThan(16 * 1024 * 1024);
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
    // Under AddressSanitizer (scripts/sanitize.sh) freed memory sits in ASan's quarantine (up to
    // 256 MB) by design, so RSS says nothing there; the ArrayBuffer/external counters still do.
    if (!/libasan/.test(process.env["LD_PRELOAD"] ?? ""))
      expect(growth.rss).toBeLessThan(64 * 1024 * 1024);
  });
});
