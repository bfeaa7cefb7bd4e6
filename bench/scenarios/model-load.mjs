// Sharded model load (issue 15): the same ~2.4 GB of tensors (Qwen3-0.6B shapes in F32, 310
// tensors) as a Hugging Face sharded directory (1 GB shards + index, bound) and as one file, each
// encrypted and plain, page cache warm. Interleaved rounds (each round runs every variant once, in
// a rotated order, so drift and neighbours hit all variants alike) compare:
//   loadModel(sharded, encrypted)   vs loadModel(sharded, plain)    — the single-file targets
//   loadModel(sharded, encrypted)   vs loadFile(single, encrypted)  — the cost of sharding
//   readAll into one warm arena: Model encrypted vs plain vs TensorFile encrypted.
// Reports best / median / spread and page faults per variant. Not part of the test suite.
import { join } from "node:path";
import { Bench } from "tinybench";
import {
  benchKeys,
  benchScale,
  fillPattern,
  gbps,
  loadPackage,
  report,
  tempDir,
} from "../lib/common.mjs";
import { qwen3Shapes } from "../lib/fixtures.mjs";

const api = await loadPackage();
const dir = tempDir("model");
const scale = benchScale();
const ROUNDS = Number(process.env.CRYPTOTENSORS_BENCH_ROUNDS ?? (scale.quick ? 3 : 5));
// Shards of 1 GB for the whole model; a quick run's few layers still span several shards.
const SHARD_BYTES = scale.layers === 28 ? 1_000_000_000 : 250_000_000;

// The tensors, written four ways, then dropped so only the loads hold memory.
let bytes = 0;
/** @type {Record<string, import("../../dist/index.js").TensorInput> | null} */
let tensors = {};
for (const [name, shape] of qwen3Shapes(scale.layers)) {
  const length = shape.reduce((a, b) => a * b, 1) * 4;
  tensors[name] = { dtype: "F32", shape, data: fillPattern(new Uint8Array(length)) };
  bytes += length;
}
const count = Object.keys(tensors).length;
const keys = benchKeys(api);
const paths = {
  singleEncrypted: join(dir, "single-encrypted.safetensors"),
  singlePlain: join(dir, "single-plain.safetensors"),
  shardedEncrypted: join(dir, "sharded-encrypted"),
  shardedPlain: join(dir, "sharded-plain"),
};
await api.saveFile(paths.singleEncrypted, tensors, { encryption: keys.encryption });
await api.saveFile(paths.singlePlain, tensors);
await api.saveModel(paths.shardedEncrypted, tensors, {
  maxShardSize: SHARD_BYTES,
  encryption: keys.encryption,
});
await api.saveModel(paths.shardedPlain, tensors, { maxShardSize: SHARD_BYTES });
tensors = null;
globalThis.gc?.();
const opts = { keys: keys.set, requireBoundShards: true };
const shards = (await api.verifyModel(paths.shardedEncrypted, opts)).shards.length;

// Warm handles and one arena shared by the warm variants (the largest layout of the three).
const modelEncrypted = await api.openModel(paths.shardedEncrypted, opts);
const modelPlain = await api.openModel(paths.shardedPlain);
const fileEncrypted = await api.openFile(paths.singleEncrypted, { keys: keys.set });
const arena = new Uint8Array(
  Math.max(
    modelEncrypted.readAllByteLength(),
    modelPlain.readAllByteLength(),
    fileEncrypted.readAllByteLength(),
  ),
).fill(1);

const variants = {
  "loadModel sharded encrypted": () => api.loadModel(paths.shardedEncrypted, opts),
  "loadModel sharded plain": () => api.loadModel(paths.shardedPlain),
  "loadFile single encrypted": () => api.loadFile(paths.singleEncrypted, { keys: keys.set }),
  "loadFile single plain": () => api.loadFile(paths.singlePlain),
  "readAll arena, Model encrypted": () => modelEncrypted.readAll({ into: arena }),
  "readAll arena, Model plain": () => modelPlain.readAll({ into: arena }),
  "readAll arena, TensorFile encrypted": () => fileEncrypted.readAll({ into: arena }),
};
const names = Object.keys(variants);
// One untimed pass warms the page cache for every file.
for (const name of names) await variants[name]();

const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]);
  const bench = new Bench({ time: 0, iterations: 1, warmup: false, throws: true });
  for (const name of order) {
    let before;
    bench.add(
      name,
      async () => {
        await variants[name]();
      },
      {
        beforeEach: () => {
          globalThis.gc?.();
          before = process.resourceUsage();
        },
        afterEach: () => {
          const after = process.resourceUsage();
          samples[name].push({
            minorFaults: after.minorPageFault - before.minorPageFault,
            majorFaults: after.majorPageFault - before.majorPageFault,
          });
        },
      },
    );
  }
  await bench.run();
  for (const task of bench.tasks) {
    const list = samples[task.name];
    list[list.length - 1].ms = task.result.latency.samples[0];
  }
}
await Promise.all([modelEncrypted.close(), modelPlain.close(), fileEncrypted.close()]);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stats = Object.fromEntries(
  names.map((name) => {
    const ms = samples[name].map((s) => s.ms);
    const best = Math.min(...ms);
    const med = median(ms);
    return [
      name,
      {
        best,
        median: med,
        spread: (Math.max(...ms) - best) / med,
        minorFaults: median(samples[name].map((s) => s.minorFaults)),
        majorFaults: median(samples[name].map((s) => s.majorFaults)),
      },
    ];
  }),
);
const rows = names.map((name) => ({
  what: name,
  "best ms": +stats[name].best.toFixed(1),
  "median ms": +stats[name].median.toFixed(1),
  spread: `${(100 * stats[name].spread).toFixed(0)}%`,
  "GB/s (best)": gbps(bytes, stats[name].best),
  "minor faults": stats[name].minorFaults,
  "major faults": stats[name].majorFaults,
}));
const ratio = (a, b) => +(stats[a].best / stats[b].best).toFixed(3);
const ratios = {
  "loadModel encrypted / plain (target <= 1.10)": ratio(
    "loadModel sharded encrypted",
    "loadModel sharded plain",
  ),
  "readAll warm Model encrypted / plain (target <= 1.15)": ratio(
    "readAll arena, Model encrypted",
    "readAll arena, Model plain",
  ),
  "loadModel sharded / loadFile single, encrypted (cost of sharding)": ratio(
    "loadModel sharded encrypted",
    "loadFile single encrypted",
  ),
  "readAll warm Model / TensorFile, encrypted (cost of sharding)": ratio(
    "readAll arena, Model encrypted",
    "readAll arena, TensorFile encrypted",
  ),
};
report("model-load", rows, {
  model: { bytes, tensors: count, shards, shardBytes: SHARD_BYTES },
  rounds: ROUNDS,
  stats,
  ratios,
  native: api.nativeInfo(),
});
console.table(ratios);
