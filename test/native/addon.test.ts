// The raw addon: its own argument checks (memory safety at the boundary), deferred close,
// loading in a worker thread, and which OpenSSL it runs.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { loadNativeBinding, PACKAGE_ROOT, type NativeFileHandle } from "../../src/native/addon.js";
import { nativeInfo } from "../../src/native/index.js";
import { tempDir, writeTemp } from "./helpers.js";

const binding = loadNativeBinding();
const { dir, cleanup } = tempDir();
afterAll(cleanup);
const data = randomBytes(64 * 1024);
const path = writeTemp(dir, "raw.bin", data);
// The binary node-gyp-build actually loads (build/Release in a checkout, else the prebuild).
const ADDON = (
  createRequire(import.meta.url)("node-gyp-build") as { path(dir: string): string }
).path(PACKAGE_ROOT);
const AEAD_DEPS = join(
  PACKAGE_ROOT,
  "build/Release/.deps/Release/obj.target/cryptotensors/native/cipher.o.d",
);

/** Memory the addon owns: the only memory its threads write into (native/arena.h). */
const arena = (bytes: number) => new Uint8Array(binding.allocateArena(bytes));

async function openRaw(): Promise<NativeFileHandle> {
  const handle = await binding.openFile(path);
  if (typeof handle === "number") throw new Error(`open failed with status ${handle}`);
  return handle;
}

describe("raw addon argument checks", () => {
  it("throws TypeError/RangeError synchronously and keeps working", async () => {
    const handle = await openRaw();
    const raw = handle as unknown as Record<string, (...args: unknown[]) => unknown>;
    const dest = arena(16);
    const typeErrors: unknown[][] = [[], ["0", 1, dest], [0, 1, "dest"], [0, 1, {}], [0, 1, null]];
    for (const args of typeErrors)
      expect(() => raw["read"]!.apply(handle, args)).toThrow(TypeError);
    for (const args of [
      [-1, 1, dest],
      [NaN, 1, dest],
      [0, 17, dest],
      [2 ** 53, 1, dest],
      [0, Infinity, dest],
    ]) {
      expect(() => raw["read"]!.apply(handle, args)).toThrow(RangeError);
    }
    const key = new Uint8Array(32);
    const iv = new Uint8Array(12);
    const decrypt = (...args: unknown[]) => raw["decrypt"]!.apply(handle, args);
    expect(() => decrypt(3, key, 0, 16, 0, 0, iv, new Uint8Array(16), dest)).toThrow(RangeError);
    expect(() => decrypt(1, new Uint8Array(31), 0, 16, 0, 0, iv, new Uint8Array(16), dest)).toThrow(
      RangeError,
    );
    expect(() =>
      decrypt(1, key, 0, 16, 0, 0, new Uint8Array(11), new Uint8Array(16), dest),
    ).toThrow(RangeError);
    expect(() => decrypt(1, key, 0, 16, 4, 0, iv, new Uint8Array(63), dest)).toThrow(RangeError);
    expect(() => decrypt(1, "key", 0, 16, 0, 0, iv, new Uint8Array(16), dest)).toThrow(TypeError);
    expect(() => (binding.openFile as (p: unknown) => unknown)(42)).toThrow(TypeError);
    expect(() => binding.openFile("x\0y")).toThrow(TypeError);
    // A handle constructed from JS (not by openFile) is refused, not dereferenced.
    const Ctor = (handle as object).constructor as new () => NativeFileHandle;
    expect(() => new Ctor().read(0, 1, dest)).toThrow(TypeError);
    // Memory the addon does not own is refused (the TS layer stages such reads: staging.ts).
    expect(() => handle.read(0, 16, new Uint8Array(16))).toThrow(/allocateArena/);
    expect(() => handle.read(0, 16, arena(16).subarray(1))).toThrow(RangeError);
    // Accepts an ArrayBuffer, DataView and any TypedArray over an arena as destination.
    for (const target of [
      binding.allocateArena(16),
      new DataView(binding.allocateArena(16)),
      new Float64Array(binding.allocateArena(16)),
    ]) {
      expect(await handle.read(0, 16, target as unknown as Uint8Array)).toBe(0);
      const bytes = ArrayBuffer.isView(target)
        ? new Uint8Array(target.buffer)
        : new Uint8Array(target);
      expect(Buffer.from(bytes).equals(data.subarray(0, 16))).toBe(true);
    }
    await handle.close();
  });

  it("reports failures as statuses: open errors, truncation, closed", async () => {
    expect(await binding.openFile(join(dir, "nope"))).toBe(-2); // -ENOENT
    expect(await binding.openFile(dir)).toBe(5); // not a regular file
    const handle = await openRaw();
    expect(await handle.read(data.length - 1, 2, arena(2))).toBe(3); // truncated
    await handle.close();
    expect(await handle.read(0, 1, arena(1))).toBe(4); // closed
  });

  it("counts in-flight reads and closes only after they finish", async () => {
    const handle = await openRaw();
    const dests = Array.from({ length: 8 }, () => arena(data.length));
    const reads = dests.map((d) => handle.read(0, data.length, d));
    expect(handle.inFlight).toBe(8);
    const closing = handle.close();
    expect(await handle.read(0, 1, arena(1))).toBe(4);
    expect(await Promise.all(reads)).toEqual(Array(8).fill(0));
    await closing;
    expect(handle.inFlight).toBe(0);
    for (const d of dests) expect(Buffer.from(d).equals(data)).toBe(true);
  });
});

describe("worker threads", () => {
  it("loads and reads in a worker thread (per-environment state)", async () => {
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      const addon = require(workerData.addon);
      (async () => {
        const handle = await addon.openFile(workerData.path);
        const dest = new Uint8Array(addon.allocateArena(32));
        const status = await handle.read(0, 32, dest);
        await handle.close();
        parentPort.postMessage({ status, bytes: Buffer.from(dest).toString("hex") });
      })();`;
    const worker = new Worker(source, { eval: true, workerData: { addon: ADDON, path } });
    const message = await new Promise<{ status: number; bytes: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    expect(message).toEqual({ status: 0, bytes: data.subarray(0, 32).toString("hex") });
  });
});

describe("OpenSSL identity", () => {
  const info = nativeInfo();
  const systemDir = execFileSync("openssl", ["version", "-d"], { encoding: "utf8" }).trim();

  it("nativeInfo has the documented shape", () => {
    expect(info).toEqual({
      openssl: expect.stringMatching(/^OpenSSL \d+\.\d+\.\d+/),
      opensslDir: expect.stringMatching(/^OPENSSLDIR: "/),
      opensslPlatform: expect.stringMatching(/^platform: /),
      opensslHeaders: expect.stringMatching(/^OpenSSL /),
      threads: expect.any(Number),
      aesGcmEngine: expect.stringMatching(/^(openssl|ipsec-mb|vaes-avx2)$/),
      ipsecMbBuilt: expect.any(Boolean),
      ipsecMbUsable: expect.any(Boolean),
      vaesAvx2Usable: expect.any(Boolean),
      aesGcmEngines: expect.arrayContaining(["openssl"]),
      mappedDecrypt: info.aesGcmEngine === "vaes-avx2",
      cpu: {
        aesni: expect.any(Boolean),
        vaes: expect.any(Boolean),
        avx512: expect.any(Boolean),
        pclmul: expect.any(Boolean),
      },
    });
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it("runs the system libcrypto, not Node's bundled copy", () => {
    // The system OpenSSL's directory, as its own CLI reports it.
    expect(info.opensslDir).toBe(systemDir);
    // Node's bundled OpenSSL carries a different OPENSSLDIR string inside the node binary.
    const nodeBinary = readFileSync(process.execPath).toString("latin1");
    const nodeDirs = [...nodeBinary.matchAll(/OPENSSLDIR: "[^"]*"/g)].map((m) => m[0]);
    expect(nodeDirs.length).toBeGreaterThan(0);
    expect(nodeDirs).not.toContain(info.opensslDir);
    expect(info.opensslHeaders).toBe(info.openssl);
    const systemVersion = execFileSync("openssl", ["version", "-v"], { encoding: "utf8" });
    expect(systemVersion).toContain(info.openssl);
  });

  it.skipIf(!existsSync(AEAD_DEPS))(
    "compiles against the system OpenSSL headers, not Node's include/node/openssl",
    () => {
      // Re-run the recorded compile command of cipher.cc (the EVP user) as a preprocessor pass that lists every header.
      const recorded = /^cmd_\S+ := (.*)$/m.exec(readFileSync(AEAD_DEPS, "utf8"))?.[1];
      expect(recorded).toBeDefined();
      const probe = recorded!
        .replace(/ -o \S+ /, " -E -H -o /dev/null ")
        .replace(/ -MMD -MF \S+/, "");
      const result = execFileSync("sh", ["-c", `${probe} 2>&1`], {
        cwd: join(PACKAGE_ROOT, "build"),
        encoding: "utf8",
      });
      const headers = result
        .split("\n")
        .filter((line) => /^\.+ /.test(line))
        .map((line) => line.replace(/^\.+ /, ""));
      const opensslHeaders = headers.filter((h) => /\/openssl\/[^/]+\.h$/.test(h));
      expect(opensslHeaders).toContain("/usr/include/openssl/evp.h");
      expect(opensslHeaders.filter((h) => h.includes("include/node/"))).toEqual([]);
    },
  );

  it("links libcrypto statically and exports only the N-API entry points", () => {
    const ldd = execFileSync("ldd", [ADDON], { encoding: "utf8" });
    expect(ldd).not.toMatch(/libcrypto|libssl/);
    const exported = execFileSync("nm", ["-D", "--defined-only", ADDON], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/).pop());
    expect(exported.sort()).toEqual([
      "napi_register_module_v1",
      "node_api_module_get_api_version_v1",
    ]);
    // The EVP code is inside the addon, as local symbols.
    const local = execFileSync("nm", [ADDON], { encoding: "utf8", maxBuffer: 256 << 20 });
    expect(local).toMatch(/ t EVP_DecryptUpdate$/m);
  });
});
