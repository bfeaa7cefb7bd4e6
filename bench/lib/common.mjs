// Shared plumbing of the benchmark scenarios: the built package, timing with tinybench, machine
// facts, and writing bench/results/<scenario>.json. Each scenario runs in its own process
// (bench/run.mjs), so nothing here is shared between scenarios at run time.
import { cpus, loadavg, totalmem } from "node:os";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { pageReporting } from "./page-reporting.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RESULTS = join(ROOT, "bench", "results");
const DIST = process.env.CRYPTOTENSORS_DIST ?? join(ROOT, "dist");

/**
 * The built package (dist/), or exit with a hint. Typed as the sources it is built from, so that
 * `npm run typecheck` checks every benchmark's use of the API.
 * @returns {Promise<typeof import("../../dist/index.js") & typeof import("../../dist/native/index.js") & { binding: import("../../dist/native/addon.js").NativeBinding }>}
 */
export async function loadPackage() {
  const entry = join(DIST, "index.js");
  if (!existsSync(entry)) {
    console.error(
      `${entry} is missing; run \`npm run build:ts\` (or \`npm run bench\`, which does) first`,
    );
    process.exit(1);
  }
  const api = await import(entry);
  const native = await import(join(DIST, "native", "index.js"));
  const addon = await import(join(DIST, "native", "addon.js"));
  return { ...api, ...native, binding: addon.loadNativeBinding() };
}

/**
 * Sizes of the scenarios, from the environment, so that a quick run is possible:
 * CRYPTOTENSORS_BENCH_QUICK=1 (4 layers of the Qwen3 shape (~0.44 GB in F16), 3 rounds, 128 MiB
 * tensors; the sharded, remote and rewrap scenarios shrink too),
 * or each one: CRYPTOTENSORS_BENCH_LAYERS (of 28), CRYPTOTENSORS_BENCH_ROUNDS,
 * CRYPTOTENSORS_BENCH_TENSOR_MIB (the single large tensor of decrypt-throughput and encrypt).
 * `fullRounds`: the rounds of a full-size run when CRYPTOTENSORS_BENCH_ROUNDS is not set (a
 * scenario whose best samples land in fresh memory needs more of them to catch a clean one).
 * @param {{ fullRounds?: number }} [options]
 */
export function benchScale({ fullRounds = 6 } = {}) {
  const quick = process.env.CRYPTOTENSORS_BENCH_QUICK === "1";
  const number = (name, fallback) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a positive integer, got ${process.env[name]}`);
    return value;
  };
  return {
    layers: Math.min(28, number("CRYPTOTENSORS_BENCH_LAYERS", quick ? 4 : 28)),
    rounds: number("CRYPTOTENSORS_BENCH_ROUNDS", quick ? 3 : fullRounds),
    tensorMiB: number("CRYPTOTENSORS_BENCH_TENSOR_MIB", quick ? 128 : 512),
    quick,
  };
}

/** Bytes per second → GB/s (10^9), 2 decimals. */
export const gbps = (bytes, ms) => +(bytes / (ms / 1000) / 1e9).toFixed(2);

/**
 * Times `fn` with tinybench: `iterations` samples after `warmup` untimed runs (time budget 0, so
 * the iteration count decides). Returns latencies in ms: median, mean and min. Throughput figures
 * use `min` (the best sample) for ours and for every baseline alike: on a shared machine other
 * processes can only slow a sample down, so the best one is the closest to what the hardware does.
 * @param {string} name
 * @param {() => unknown} fn
 * @param {{ iterations?: number, warmup?: number, setup?: () => void | Promise<void> }} [options]
 */
export async function timeIt(name, fn, { iterations = 5, warmup = 1, setup } = {}) {
  const bench = new Bench({
    time: 0,
    iterations,
    warmup: warmup > 0,
    warmupIterations: warmup,
    warmupTime: 0,
    throws: true,
  });
  bench.add(name, fn, setup ? { beforeEach: setup } : {});
  await bench.run();
  const task = bench.tasks[0];
  const latency = task.result.latency;
  return {
    median: latency.p50,
    mean: latency.mean,
    min: latency.min,
    samples: latency.samples.length,
  };
}

/** A temporary directory removed at exit (also on Ctrl-C). */
export function tempDir(prefix) {
  const dir = mkdtempSync(
    join(process.env.CRYPTOTENSORS_BENCH_TMP ?? tmpdir(), `ct-bench-${prefix}-`),
  );
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", cleanup);
  process.on("SIGINT", () => process.exit(130));
  return dir;
}

/**
 * Family, model and the vector features that pick the AES-GCM engine, from /proc/cpuinfo (Linux):
 * two machines of the same model name ("AMD EPYC") can run different engines.
 */
function cpuIdentity() {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const field = (/** @type {string} */ name) =>
      info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
    const flags = new Set((field("flags") ?? "").split(/\s+/));
    return {
      cpuFamilyModel: `${field("cpu family") ?? "?"}/${field("model") ?? "?"}`,
      cpuFeatures: ["avx2", "vaes", "vpclmulqdq", "avx512f"].filter((f) => flags.has(f)),
    };
  } catch {
    return {};
  }
}

/** CPU, memory and load of the machine, recorded with every result. */
export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? "unknown",
    ...cpuIdentity(),
    cores: cpu.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadavg: loadavg().map((x) => +x.toFixed(2)),
    ...(pageReporting() ? { freePageReporting: pageReporting() } : {}),
  };
}

/** Prints the rows as a table and writes bench/results/<name>.json with the machine facts. */
export function report(name, rows, extra = {}) {
  console.log(`\n== ${name}`);
  console.table(rows);
  mkdirSync(RESULTS, { recursive: true });
  const out = {
    scenario: name,
    date: new Date().toISOString(),
    machine: machine(),
    rows,
    ...extra,
  };
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

/** Fills `bytes` with a cheap non-constant pattern (random data is not needed: AES does not care). */
export function fillPattern(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return bytes;
}

/** Encryption options and the JWK set that opens what they write. */
export function benchKeys(api, alg = "aes256gcm") {
  const set = api.generateKeySet({ alg, encKid: "bench-enc", signKid: "bench-sign" });
  return { set, encryption: { encKey: set.keys[0], signKey: set.keys[1] } };
}
