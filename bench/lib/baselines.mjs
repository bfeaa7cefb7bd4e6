// Same-run baselines: memory-copy bandwidth, `openssl speed`, node:crypto per chunk (one thread
// and worker threads), pure-JS AES-GCM (@noble/ciphers) and WebCrypto. Every figure is measured
// on the same machine in the same run as the numbers it is compared with.
import { execFileSync } from "node:child_process";
import { createDecipheriv, randomBytes, webcrypto } from "node:crypto";
import { Worker } from "node:worker_threads";
import { gbps, timeIt } from "./common.mjs";

/**
 * One memcpy of `bytes` between two warm buffers over `threads` native pool threads (a sample for
 * bench/lib/interleave.mjs).
 */
export function memcpyRunner(binding, bytes, threads) {
  const src = new Uint8Array(bytes).fill(1);
  const dst = new Uint8Array(bytes).fill(2);
  return async () => {
    if ((await binding.copy(src, dst, threads)) !== 0) throw new Error("copy failed");
  };
}

/** memcpy into a freshly allocated buffer (huge pages advised, as the loader does): the fresh-page bound. */
export async function memcpyFreshBandwidth(binding, bytes, threads) {
  const src = new Uint8Array(bytes).fill(1);
  const t = await timeIt(
    `memcpy fresh x${threads}`,
    async () => {
      if ((await binding.copy(src, new Uint8Array(bytes), threads)) !== 0)
        throw new Error("copy failed");
    },
    { iterations: 4 },
  );
  return gbps(bytes, t.min);
}

/**
 * `openssl speed -evp aes-256-gcm` (16 KiB blocks, its largest default size), optionally with
 * `-multi n`, best of `runs` runs of `seconds`; returns GB/s parsed from the summary line ("... 1234567.89k" = 1000s of bytes/s).
 */
export function opensslSpeed(multi = 1, seconds = 1, runs = 3) {
  let best = 0;
  for (let i = 0; i < runs; i++) best = Math.max(best, opensslSpeedOnce(multi, seconds));
  return best;
}

function opensslSpeedOnce(multi, seconds) {
  const args = ["speed", "-evp", "aes-256-gcm", "-bytes", "16384", "-seconds", String(seconds)];
  if (multi > 1) args.push("-multi", String(multi));
  const out = execFileSync("openssl", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const line = out
    .split("\n")
    .reverse()
    .find((l) => /^(evp|aes-256-gcm|AES-256-GCM)\s/i.test(l.trim()) && /k\s*$/.test(l.trim()));
  if (!line) throw new Error(`could not parse openssl speed output:\n${out}`);
  const kbps = Number(line.trim().split(/\s+/).pop().replace(/k$/, ""));
  return +((kbps * 1000) / 1e9).toFixed(2);
}

/** One pass of node:crypto createDecipheriv per chunk over `ciphertext` (in memory), one thread. */
export function nodeCryptoRunner(sealed) {
  const { ciphertext, tags, key, ivOf, chunkSize } = sealed;
  const out = Buffer.alloc(ciphertext.length);
  return async () => {
    for (let i = 0, off = 0; off < ciphertext.length; i++, off += chunkSize) {
      const d = createDecipheriv("aes-256-gcm", key, ivOf(i), { authTagLength: 16 });
      d.setAuthTag(tags.subarray(i * 16, i * 16 + 16));
      const n = d.update(ciphertext.subarray(off, off + chunkSize)).copy(out, off);
      d.final();
      if (n === 0 && chunkSize > 0) throw new Error("empty update");
    }
  };
}

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createDecipheriv } = require("node:crypto");
const { ct, tagBytes, key, baseIv, chunkSize, first, last } = workerData;
const ciphertext = new Uint8Array(ct);
const out = new Uint8Array(ct.byteLength);
parentPort.on("message", () => {
  for (let i = first; i < last; i++) {
    const iv = Buffer.from(baseIv);
    iv.writeUInt32BE((iv.readUInt32BE(8) + i) >>> 0, 8);
    const d = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
    d.setAuthTag(Buffer.from(tagBytes, i * 16, 16));
    const plain = d.update(ciphertext.subarray(i * chunkSize, (i + 1) * chunkSize));
    out.set(plain, i * chunkSize);
    d.final();
  }
  parentPort.postMessage("done");
});
`;

/**
 * node:crypto per chunk split over `threads` worker_threads (ciphertext in a SharedArrayBuffer):
 * `run` is one pass over the whole tensor; `close` ends the workers.
 */
export function nodeCryptoWorkersRunner(sealed, threads = 2) {
  const { ciphertext, tags, key, baseIv, chunkSize } = sealed;
  const ct = new SharedArrayBuffer(ciphertext.length);
  new Uint8Array(ct).set(ciphertext);
  const tagBuffer = new SharedArrayBuffer(tags.length);
  new Uint8Array(tagBuffer).set(tags);
  const chunks = Math.ceil(ciphertext.length / chunkSize);
  const workers = Array.from(
    { length: threads },
    (_, w) =>
      new Worker(WORKER, {
        eval: true,
        workerData: {
          ct,
          tagBytes: tagBuffer,
          key,
          baseIv,
          chunkSize,
          first: Math.floor((chunks * w) / threads),
          last: Math.floor((chunks * (w + 1)) / threads),
        },
      }),
  );
  const run = () =>
    Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            w.once("message", resolve);
            w.postMessage("go");
          }),
      ),
    );
  return { run, close: () => Promise.all(workers.map((w) => w.terminate())) };
}

/** Pure-JS AES-256-GCM (@noble/ciphers) over the first `bytes` of the tensor, chunk by chunk: GB/s. */
export async function nobleGcm(sealed, bytes) {
  const { gcm } = await import("@noble/ciphers/aes.js");
  const { ciphertext, tags, key, ivOf, chunkSize } = sealed;
  const size = Math.min(bytes, chunkSize);
  const input = new Uint8Array(size + 16);
  input.set(ciphertext.subarray(0, size));
  input.set(tags.subarray(0, 16), size);
  const whole = size === chunkSize;
  const t = await timeIt(
    "@noble/ciphers",
    () => {
      const plain = gcm(new Uint8Array(key), new Uint8Array(ivOf(0))).decrypt(input);
      if (plain.length !== size) throw new Error("noble: wrong length");
    },
    { iterations: 5, warmup: 1 },
  );
  if (!whole) throw new Error("noble baseline needs a whole chunk");
  // Three significant digits, not gbps()'s two decimals: at ~0.02 GB/s those rounded the
  // ">= 200 x pure JS" ratio by up to 25% (one run read 196.7 for 5.9 / 0.03).
  return +(size / (t.min / 1000) / 1e9).toPrecision(3);
}

/** WebCrypto AES-256-GCM decrypt, one chunk per call, over the first `bytes` of the tensor: GB/s. */
export async function webCryptoGcm(sealed, bytes) {
  const { ciphertext, tags, key, ivOf, chunkSize } = sealed;
  const chunks = Math.floor(Math.min(bytes, ciphertext.length) / chunkSize);
  const cryptoKey = await webcrypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  const inputs = Array.from({ length: chunks }, (_, i) => {
    const input = new Uint8Array(chunkSize + 16);
    input.set(ciphertext.subarray(i * chunkSize, (i + 1) * chunkSize));
    input.set(tags.subarray(i * 16, i * 16 + 16), chunkSize);
    return input;
  });
  const t = await timeIt(
    "WebCrypto",
    async () => {
      for (let i = 0; i < chunks; i++)
        await webcrypto.subtle.decrypt(
          { name: "AES-GCM", iv: ivOf(i), tagLength: 128 },
          cryptoKey,
          inputs[i],
        );
    },
    { iterations: 3 },
  );
  return gbps(chunks * chunkSize, t.min);
}

/**
 * Best wall and best CPU throughput of a native job over `threads` pool threads: GB/s of the best
 * wall sample, and of the best CPU sample (all threads) spread over the threads, which a busy
 * machine hardly lowers and which is never below the wall figure on a quiet one. One warm-up run.
 * @param {() => Promise<number>} run resolves with a native status (0 = success)
 */
export async function nativeBandwidth(run, bytes, threads, iterations = 8) {
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const status = await run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (status !== 0) throw new Error(`native job failed with status ${status}`);
    if (i === 0) continue;
    wall = Math.min(wall, ms);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { gbps: gbps(bytes, wall), cpuGbps: gbps(bytes, cpu / threads) };
}

/**
 * The AEAD compute floor (binding aeadInCache) of the active engine: `bytes` of AES-256-GCM in
 * 256 KiB messages that stay in each thread's L2 cache, over `threads` pool threads (see
 * nativeBandwidth for the two figures).
 */
export function aeadInCacheBandwidth(binding, bytes, threads) {
  const key = randomBytes(32);
  return nativeBandwidth(
    () => binding.aeadInCache(1, key, bytes, 256 << 10, threads),
    bytes,
    threads,
  );
}

/** memcpy between two warm buffers over `threads` pool threads (see nativeBandwidth). */
export function memcpyCpuBandwidth(binding, bytes, threads) {
  const src = new Uint8Array(bytes).fill(1);
  const dst = new Uint8Array(bytes).fill(2);
  return nativeBandwidth(() => binding.copy(src, dst, threads), bytes, threads);
}
