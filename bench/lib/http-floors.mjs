// Floors of a remote full load over loopback (issue 16), measured in the same run as ours: what
// fetching the file costs with no decryption and no protocol checks at all. `curl -o /dev/null`
// (another client's receive loop), and bare node:net range GETs whose bodies are read by
// `onread` straight into memory given up front (no JS copy, no per-read Buffer): the fastest a
// receiver on the JS thread can go. Only for the benchmarks: no timeouts, no retries, no checks
// beyond the status line; never for untrusted servers.
import { spawn } from "node:child_process";
import * as net from "node:net";

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
