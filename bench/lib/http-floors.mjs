// Floors of a remote full load over loopback (issue 16), measured in the same run as ours: what
// fetching the file costs with no decryption and no protocol checks at all. `curl -o /dev/null`
// (another client's receive loop), and bare node:net range GETs whose bodies are read by
// `onread` straight into memory given up front (no JS copy, no per-read Buffer): the fastest a
// receiver on the JS thread can go. Only for the benchmarks: no timeouts, no retries, no checks
// beyond the status line; never for untrusted servers. And the native floor (recv-floor.c): the
// best receiver this machine has, recv() on N threads straight into one buffer.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Downloads `url` whole with curl into /dev/null; resolves when curl exits 0.
 * @param {string} url
 */
export function curlDiscard(url) {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-s", "-f", "-o", "/dev/null", url], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(undefined) : reject(new Error(`curl exited ${code}`)),
    );
  });
}

/**
 * Downloads `url` whole with curl into the file `path` (e.g. in /dev/shm: fresh tmpfs pages, as a
 * load's fresh destination); resolves when curl exits 0.
 * @param {string} url
 * @param {string} path
 */
export function curlInto(url, path) {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-s", "-f", "-o", path, url], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(undefined) : reject(new Error(`curl exited ${code}`)),
    );
  });
}

/**
 * Compiles bench/lib/recv-floor.c with the system `cc` into the OS temp dir and starts it for the
 * first `size` bytes of `url` on `threads` threads (one keep-alive connection each). Resolves with
 * `transfer(mode)`, which runs one whole transfer into fresh memory or into a buffer kept warm and
 * resolves with the receiver's own wall time, CPU time (all its threads) and minor faults; or with
 * null (and the reason) when `cc` is missing or fails.
 * @param {string} url
 * @param {number} size
 * @param {number} threads
 * @returns {Promise<{ transfer: (mode: "fresh" | "warm") => Promise<{ ms: number, cpuMs: number, minorFaults: number }>, stop: () => void } | { missing: string }>}
 */
export async function startNativeReceiver(url, size, threads) {
  const dir = mkdtempSync(join(tmpdir(), "ct-recv-floor-"));
  const binary = join(dir, "recv-floor");
  const source = join(dirname(fileURLToPath(import.meta.url)), "recv-floor.c");
  const cc = spawnSync("cc", ["-O2", "-pthread", "-o", binary, source], { encoding: "utf8" });
  if (cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { missing: `cc failed: ${cc.error?.message ?? cc.stderr.trim().slice(0, 200)}` };
  }
  const parsed = new URL(url);
  const child = spawn(
    binary,
    [parsed.hostname, parsed.port || "80", parsed.pathname, String(size), String(threads)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  // A running program's file may go: nothing is left behind if this process is killed.
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
  /** @type {((line: string) => void)[]} */
  const waiting = [];
  createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) }).on(
    "line",
    (line) => waiting.shift()?.(line),
  );
  const stop = () => {
    child.stdin?.end();
    child.kill("SIGTERM");
  };
  process.on("exit", () => child.kill("SIGTERM"));
  child.once("exit", (code, signal) => {
    for (const answer of waiting.splice(0)) answer(`error exited ${code ?? signal}`);
  });
  return {
    stop,
    transfer: (mode) =>
      new Promise((resolve, reject) => {
        waiting.push((line) => {
          const [word, wall, cpu, faults] = line.split(" ");
          if (word !== "ok") reject(new Error(`recv-floor: ${line}`));
          else
            resolve({
              ms: Number(wall) / 1000,
              cpuMs: Number(cpu) / 1000,
              minorFaults: Number(faults),
            });
        });
        child.stdin?.write(`${mode}\n`);
      }),
  };
}

/**
 * GETs bytes [start, end) of `url` on a fresh connection and receives the body straight into
 * `dest` at the same offsets.
 * @param {URL} url
 * @param {number} start
 * @param {number} end
 * @param {Uint8Array} dest
 */
function rangeInto(url, start, end, dest) {
  return new Promise((resolve, reject) => {
    const head = Buffer.allocUnsafe(64 << 10);
    let headBytes = 0;
    let got = -1; // -1 while the head is read
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
      noDelay: true,
      onread: {
        buffer: () => (got < 0 ? head.subarray(headBytes) : dest.subarray(start + got, end)),
        callback: (n) => {
          if (got < 0) {
            headBytes += n;
            const at = head.subarray(0, headBytes).indexOf("\r\n\r\n");
            if (at < 0) return true;
            if (!head.toString("latin1", 0, 12).endsWith(" 206")) {
              socket.destroy();
              reject(new Error(`no 206: ${head.toString("latin1", 0, 40)}`));
              return false;
            }
            const early = head.subarray(at + 4, headBytes);
            dest.set(early, start);
            got = early.length;
          } else got += n;
          if (start + got >= end) {
            socket.destroy();
            resolve(undefined);
            return false;
          }
          return true;
        },
      },
    });
    socket.once("error", reject);
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\nrange: bytes=${start}-${end - 1}\r\n\r\n`,
    );
  });
}

/**
 * Receives the first `dest.byteLength` bytes of `url` into `dest` over `connections` parallel
 * range GETs (equal parts).
 * @param {string} url
 * @param {Uint8Array} dest
 * @param {number} connections
 */
export async function netInto(url, dest, connections) {
  const parsed = new URL(url);
  const size = dest.byteLength;
  await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      rangeInto(
        parsed,
        Math.floor((size * i) / connections),
        Math.floor((size * (i + 1)) / connections),
        dest,
      ),
    ),
  );
}
