// Decrypt throughput of one large v2 AES-256-GCM tensor (page cache warm) with each AES engine,
// into a warm arena and into fresh memory (and into a warm JS buffer, staged), against same-run
// baselines: memcpy bandwidth (1 and 2 threads), `openssl speed -evp aes-256-gcm` (1 and -multi
// 2), node:crypto per chunk (one thread and two worker threads), @noble/ciphers (pure JS) and
// WebCrypto; and the AEAD compute floor of each engine (the cipher alone, in cache: binding
// aeadInCache), which with memcpy bounds what a decrypt can reach (bench/lib/bounds.mjs: the
// bound of each throughput target). The paths the targets compare in-process (each engine's warm
// decrypt, the plain read, memcpy, node:crypto on one thread and on two workers) run interleaved
// (bench/lib/interleave.mjs), best samples compared: measured one after the other, they moved
// with the host (the fast engine / memcpy target read 0.842 in one run).
import { benchScale, gbps, loadPackage, report, tempDir, timeIt } from "../lib/common.mjs";
import { ratio } from "../lib/bounds.mjs";
import { interleaved } from "../lib/interleave.mjs";
import {
  aeadInCacheBandwidth,
  memcpyCpuBandwidth,
  memcpyFreshBandwidth,
  memcpyRunner,
  nobleGcm,
  nodeCryptoRunner,
  nodeCryptoWorkersRunner,
  opensslSpeed,
  webCryptoGcm,
} from "../lib/baselines.mjs";
import { sealInMemory, writeBigTensor } from "../lib/fixtures.mjs";

const { tensorMiB, rounds, quick } = benchScale();
const BYTES = tensorMiB << 20;
const api = await loadPackage();
const dir = tempDir("decrypt");
const big = await writeBigTensor(api, dir, BYTES);
const threads = api.nativeInfo().threads;

// Warm destinations are an addon arena (allocateArena), which the addon's threads fill directly,
// as a server reusing its memory does; `jsBuffer` measures a plain JS buffer instead, which the
// addon fills through its staging windows and a copy on the JS thread (transfer safety: README
// "Memory: arenas, destinations and transfers").
async function ours(engine, { fresh = false, throughMapping = false, jsBuffer = false } = {}) {
  api.setAesEngine(engine);
  // Read at open by the addon: files land with pread unless CRYPTOTENSORS_MMAP=1.
  if (throughMapping) process.env.CRYPTOTENSORS_MMAP = "1";
  const file = await api.openFile(big.encrypted, { keys: big.keys.set });
  delete process.env.CRYPTOTENSORS_MMAP;
  try {
    const warm = (
      jsBuffer || !api.allocateArena
        ? new Uint8Array(BYTES)
        : new Uint8Array(api.allocateArena(BYTES))
    ).fill(1);
    const t = await timeIt(
      `${engine}${fresh ? " fresh" : ""}`,
      async () => {
        await file.getTensor("w", fresh ? {} : { into: warm });
      },
      { iterations: fresh ? 5 : 12 },
    );
    return gbps(BYTES, t.min);
  } finally {
    await file.close();
  }
}

/**
 * A warm decrypt (or plain read) of the tensor into a warm arena, one sample per call; `landing`:
 * with decryption out of the file's mapping turned off (the ciphertext lands first).
 */
async function warmReader(
  /** @type {import("../../dist/index.js").AesEngineName} */ engine,
  { plain = false, landing = false } = {},
) {
  const file = await api.openFile(plain ? big.plain : big.encrypted, { keys: big.keys.set });
  const into = new Uint8Array(api.allocateArena(BYTES)).fill(1);
  return {
    run: async () => {
      api.setAesEngine(engine);
      const previous = api.binding.setMappedDecrypt(!landing);
      try {
        await file.getTensor("w", { into });
      } finally {
        api.binding.setMappedDecrypt(previous);
      }
    },
    close: () => file.close(),
  };
}

/** @type {import("../../dist/index.js").AesEngineName[]} */
const engines = api.nativeInfo().aesGcmEngines;
const fast = engines[0];
// The fast engine decrypts straight out of the file's mapping (it reads each byte once).
api.setAesEngine(fast);
const mapped = api.nativeInfo().mappedDecrypt;
const sealed = await sealInMemory(api, big.data, 2 << 20);
const two = Math.min(2, threads);
const readers = {
  ...Object.fromEntries(
    await Promise.all(engines.map(async (engine) => [`${engine} warm`, await warmReader(engine)])),
  ),
  ...(mapped
    ? {
        [`${fast} warm, landing first (pread, then the AEAD)`]: await warmReader(fast, {
          landing: true,
        }),
      }
    : {}),
  "plain read of the same bytes, warm (pread)": await warmReader(fast, { plain: true }),
};
const workers = nodeCryptoWorkersRunner(sealed, 2);
const COMPARED = {
  memcpy1: "memcpy, 1 thread",
  memcpy2: `memcpy, ${two} threads`,
  nodeCrypto1: "node:crypto per chunk, 1 thread",
  nodeCryptoWorkers2: "node:crypto per chunk, 2 worker_threads",
};
/** @type {Record<string, import("../lib/interleave.mjs").Stats>} */
let stats;
try {
  stats = await interleaved(
    {
      ...Object.fromEntries(Object.entries(readers).map(([name, r]) => [name, r.run])),
      [COMPARED.memcpy1]: memcpyRunner(api.binding, BYTES, 1),
      [COMPARED.memcpy2]: memcpyRunner(api.binding, BYTES, two),
      [COMPARED.nodeCrypto1]: nodeCryptoRunner(sealed),
      [COMPARED.nodeCryptoWorkers2]: workers.run,
    },
    { rounds: quick ? rounds : Math.max(rounds, 12) },
  );
} finally {
  await workers.close();
  for (const r of Object.values(readers)) await r.close();
}
const bestGbps = (/** @type {string} */ name) => gbps(BYTES, stats[name]?.best ?? Number.NaN);
const base = {
  memcpy1: bestGbps(COMPARED.memcpy1),
  memcpy2: bestGbps(COMPARED.memcpy2),
  memcpyFresh2: await memcpyFreshBandwidth(api.binding, BYTES, two),
  opensslSpeed1: opensslSpeed(1),
  opensslSpeedMulti2: opensslSpeed(2),
  nodeCrypto1: bestGbps(COMPARED.nodeCrypto1),
  nodeCryptoWorkers2: bestGbps(COMPARED.nodeCryptoWorkers2),
};
const res = Object.fromEntries(Object.keys(readers).map((name) => [name, bestGbps(name)]));
// The AEAD alone (no memory traffic) per engine, and memcpy, on the addon's threads, with their CPU
// forms (bench/lib/baselines.mjs nativeBandwidth).
base.memcpyCpu = await memcpyCpuBandwidth(api.binding, BYTES, threads);
base.aeadInCache = {};
for (const engine of engines) {
  api.setAesEngine(engine);
  base.aeadInCache[engine] = await aeadInCacheBandwidth(api.binding, BYTES, threads);
}
for (const engine of engines) res[`${engine} fresh`] = await ours(engine, { fresh: true });
res[`${fast} warm, into a JS buffer (staged: one more copy)`] = await ours(fast, {
  jsBuffer: true,
});
if (!mapped) {
  res[`${fast} warm, through the mapping instead of pread`] = await ours(fast, {
    throughMapping: true,
  });
}

base.noble = await nobleGcm(sealed, 2 << 20);
// The engines' own streaming speed, memory to memory (no file, no mapping): what bounds the
// file path, as opposed to openssl speed's 16 KiB blocks that stay in L1/L2.
base.sealStreaming = {};
for (const engine of engines) {
  api.setAesEngine(engine);
  const dst = new Uint8Array(BYTES).fill(0);
  const tags = new Uint8Array((BYTES / (2 << 20)) * 16 + 16);
  const t = await timeIt(
    `seal ${engine}`,
    async () => {
      if (
        (await api.binding.seal(1, sealed.key, sealed.baseIv, 0, 2 << 20, big.data, dst, tags)) !==
        0
      )
        throw new Error("seal failed");
    },
    { iterations: 8 },
  );
  base.sealStreaming[engine] = gbps(BYTES, t.min);
}
base.webCrypto = await webCryptoGcm(sealed, 128 << 20);

const best = res[`${fast} warm`];
const opensslWarm = res["openssl warm"];
const rows = [
  ...Object.entries(res).map(([what, v]) => ({ what: `cryptotensors ${what}`, "GB/s": v })),
  { what: "memcpy, 1 thread", "GB/s": base.memcpy1 },
  { what: `memcpy, ${Math.min(2, threads)} threads`, "GB/s": base.memcpy2 },
  {
    what: `memcpy, ${threads} threads, wall / CPU form (the bounds' memcpy)`,
    "GB/s": `${base.memcpyCpu.gbps} / ${base.memcpyCpu.cpuGbps}`,
  },
  {
    what: `memcpy into a fresh buffer, ${Math.min(2, threads)} threads`,
    "GB/s": base.memcpyFresh2,
  },
  { what: "openssl speed -evp aes-256-gcm (16 KiB)", "GB/s": base.opensslSpeed1 },
  { what: "openssl speed ... -multi 2", "GB/s": base.opensslSpeedMulti2 },
  ...Object.entries(base.aeadInCache).map(([engine, v]) => ({
    what: `${engine} AEAD alone, in L2 cache (${threads} threads): compute floor, wall / CPU`,
    "GB/s": `${v.gbps} / ${v.cpuGbps}`,
  })),
  ...Object.entries(base.sealStreaming).map(([engine, v]) => ({
    what: `${engine} engine streaming in memory (seal, ${threads} threads): engine bound`,
    "GB/s": v,
  })),
  { what: "node:crypto per chunk, 1 thread", "GB/s": base.nodeCrypto1 },
  { what: "node:crypto per chunk, 2 worker_threads", "GB/s": base.nodeCryptoWorkers2 },
  { what: "@noble/ciphers (pure JS)", "GB/s": base.noble },
  { what: "WebCrypto subtle.decrypt per chunk", "GB/s": base.webCrypto },
];
const ratios = {
  "fast engine warm / memcpy 2 threads (target >= 0.85)": +(best / base.memcpy2).toFixed(3),
  "openssl engine warm / openssl speed -multi 2 (target >= 0.90)":
    opensslWarm === undefined ? null : +(opensslWarm / base.opensslSpeedMulti2).toFixed(3),
  "fast warm / pure JS (target >= 200)": +(best / base.noble).toFixed(1),
  "fast warm / node:crypto 1 thread (target >= 5)": +(best / base.nodeCrypto1).toFixed(2),
  "fast warm / node:crypto 2 workers (target >= 2.5)": +(best / base.nodeCryptoWorkers2).toFixed(2),
  "openssl engine warm / its own in-memory streaming speed":
    opensslWarm === undefined ? null : +(opensslWarm / base.sealStreaming.openssl).toFixed(3),
  "fast fresh / fast warm": +(res[`${fast} fresh`] / best).toFixed(3),
  "fast fresh / memcpy into fresh buffer": +(res[`${fast} fresh`] / base.memcpyFresh2).toFixed(3),
};
// What a decrypt from the page cache can reach at best: the slower of the AEAD alone and memcpy
// (landing the bytes), each the faster of its wall and CPU forms (noise only lowers them), and
// never below what the engine measured here (it did reach that), per engine.
const fastest = (/** @type {{ gbps: number, cpuGbps: number }} */ x) => Math.max(x.gbps, x.cpuGbps);
const reach = (/** @type {string} */ engine) => {
  const aead = base.aeadInCache[engine];
  if (!aead) return null;
  const memcpy = Math.max(fastest(base.memcpyCpu), base.memcpy2);
  return +Math.max(Math.min(fastest(aead), memcpy), res[`${engine} warm`] ?? 0).toFixed(2);
};
const bounds = {
  "fast engine / memcpy 2 threads": ratio(
    reach(fast) === null ? null : Math.min(reach(fast), base.memcpy2),
    base.memcpy2,
  ),
  "openssl engine / openssl speed -multi 2": ratio(reach("openssl"), base.opensslSpeedMulti2),
  "fast / pure JS": ratio(reach(fast), base.noble),
  "fast / node:crypto 1 thread": ratio(reach(fast), base.nodeCrypto1),
  "fast / node:crypto 2 workers": ratio(reach(fast), base.nodeCryptoWorkers2),
  "reachable GB/s per engine": Object.fromEntries(engines.map((e) => [e, reach(e)])),
};
report("decrypt-throughput", rows, {
  bytes: BYTES,
  baselines: base,
  results: res,
  ratios,
  bounds,
  // The interleaved samples behind the targets' figures (best, median, spread per path).
  stats,
  native: api.nativeInfo(),
});
console.table(ratios);
console.log("bounds", bounds);
