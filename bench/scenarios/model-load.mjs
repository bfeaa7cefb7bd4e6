// Sharded model load (issue 15): the same ~2.4 GB of tensors (Qwen3-0.6B shapes in F32, 310
// tensors) as a Hugging Face sharded directory (1 GB shards + index, bound) and as one file, each
// encrypted and plain, page cache warm. Interleaved rounds (each round runs every variant once, in
// a rotated order, so drift and neighbours hit all variants alike) compare:
//   loadModel(sharded, encrypted)   vs loadModel(sharded, plain)    — the single-file targets
//   loadModel(sharded, encrypted)   vs loadFile(single, encrypted)  — the cost of sharding
//   readAll into one warm arena: Model encrypted vs plain vs TensorFile encrypted
//   and the floors of the model's bytes (bench/lib/floors.mjs: landing, the AEAD alone, the
//   kernel's fault-in, seal streaming; the single plaintext file's bytes landed alone by pread and
//   through a mapping), which bound the encrypted loads (bench/lib/bounds.mjs).
// All four layouts' page cache is rebuilt by reading them back once written (bench/lib/page-cache.mjs),
// so that no layout reads faster only for having been written first.
// Reports best / median / spread, CPU time and page faults per variant. Not part of the test suite.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { designBounds, loadBounds } from "../lib/bounds.mjs";
import { benchKeys, benchScale, loadPackage, report, tempDir } from "../lib/common.mjs";
import { dataSectionOffset, fileFloorVariants, floorVariants } from "../lib/floors.mjs";
import { rewarmPageCache } from "../lib/page-cache.mjs";
import { qwen3Tensors } from "../lib/fixtures.mjs";
import { bestRatio, interleaved, statsRows } from "../lib/interleave.mjs";

const api = await loadPackage();
const dir = tempDir("model");
const scale = benchScale();
const ROUNDS = Number(process.env.CRYPTOTENSORS_BENCH_ROUNDS ?? (scale.quick ? 3 : 5));
// Shards of 1 GB for the whole model; a quick run's few layers still span several shards.
const SHARD_BYTES = scale.layers === 28 ? 1_000_000_000 : 250_000_000;

// The tensors, written four ways, then dropped so only the loads hold memory.
/** @type {{ tensors: Record<string, import("../../dist/index.js").TensorInput> | null, bytes: number }} */
let { tensors, bytes } = qwen3Tensors(scale.layers, "F32");
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
// As written, the shards (written last) read from the page cache with ~40% more kernel time than
// the single file's same bytes, and a cache read back with read(2) is a mix of folio sizes that
// reads at up to ~3 x the kernel time of 2 MiB folios: each layout's cache is rebuilt alike first,
// in 2 MiB folios where memory allows (bench/lib/page-cache.mjs, hugeFolios).
const shardFiles = (/** @type {string} */ at) =>
  readdirSync(at)
    .filter((name) => name.endsWith(".safetensors"))
    .map((name) => join(at, name));
const rewarmStart = performance.now();
const pageCacheRebuilt = rewarmPageCache(
  [
    paths.singleEncrypted,
    paths.singlePlain,
    ...shardFiles(paths.shardedEncrypted),
    ...shardFiles(paths.shardedPlain),
  ],
  { hugeFolios: true },
);
const rewarmMs = Math.round(performance.now() - rewarmStart);
const opts = { keys: keys.set, requireBoundShards: true };
const shards = (await api.verifyModel(paths.shardedEncrypted, opts)).shards.length;

// Warm handles and one arena shared by the warm variants (the largest layout of the three).
const modelEncrypted = await api.openModel(paths.shardedEncrypted, opts);
const modelPlain = await api.openModel(paths.shardedPlain);
const fileEncrypted = await api.openFile(paths.singleEncrypted, { keys: keys.set });
// An allocateArena arena (the recommended destination, as in retained-load; the file floors
// read into it natively).
const arena = new Uint8Array(
  api.allocateArena(
    Math.max(
      modelEncrypted.readAllByteLength(),
      modelPlain.readAllByteLength(),
      fileEncrypted.readAllByteLength(),
    ),
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
// The loads here are not retained (each result is dropped before the next sample): nor are the
// floors' fresh arenas.
const floors = floorVariants(api, bytes, { warmArena: arena, retain: () => {} });
Object.assign(variants, floors.variants);
// Landing the single plaintext file's bytes (the model's) alone, by pread and through a mapping.
const fileFloors = await fileFloorVariants(api, {
  path: paths.singlePlain,
  bytes,
  warmArena: arena,
  retain: () => {},
});
Object.assign(variants, fileFloors.variants);
// Each layout's page cache read alone: every file's data section pread into the warm arena by
// the addon's threads, file after file. Files rebuilt alike can still read at different speeds
// (in one fixture the sharded plain files took ~1.8 x the kernel time of the same bytes in the
// single file, and read as fast once dropped and read back again), which moves every ratio over
// that layout: these rows say what each layout's loads start from.
const cacheFloors = {
  "page cache: pread single encrypted into warm arena": await preadLayout([paths.singleEncrypted]),
  "page cache: pread sharded encrypted into warm arena": await preadLayout(
    shardFiles(paths.shardedEncrypted),
  ),
  "page cache: pread sharded plain into warm arena": await preadLayout(
    shardFiles(paths.shardedPlain),
  ),
};
for (const [name, floor] of Object.entries(cacheFloors)) variants[name] = floor.run;
const names = Object.keys(variants);
// One untimed pass warms the page cache for every file.
for (const name of names) await variants[name]();

const stats = await interleaved(variants, { rounds: ROUNDS });
await Promise.all([
  modelEncrypted.close(),
  modelPlain.close(),
  fileEncrypted.close(),
  fileFloors.close(),
  ...Object.values(cacheFloors).map((floor) => floor.close()),
]);

const rows = statsRows(stats, bytes, { cpu: true }).map((row) => ({
  ...row,
  "major faults": stats[row.what].majorFaults,
}));
const ratio = (a, b) => bestRatio(stats, a, b);
// Best CPU time (all threads) over best CPU time: steadier than wall time on a busy machine.
const cpuRatio = (/** @type {string} */ a, /** @type {string} */ b) =>
  +((stats[a]?.cpuBest ?? Number.NaN) / (stats[b]?.cpuBest ?? Number.NaN)).toFixed(3);
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
  "loadModel sharded / loadFile single, plain (cost of sharding)": ratio(
    "loadModel sharded plain",
    "loadFile single plain",
  ),
  "loadModel sharded / loadFile single, encrypted, CPU": cpuRatio(
    "loadModel sharded encrypted",
    "loadFile single encrypted",
  ),
  "loadModel sharded / loadFile single, plain, CPU": cpuRatio(
    "loadModel sharded plain",
    "loadFile single plain",
  ),
  "readAll warm Model / TensorFile, encrypted, CPU": cpuRatio(
    "readAll arena, Model encrypted",
    "readAll arena, TensorFile encrypted",
  ),
  "readAll warm Model plain / pread of the single plain file (cost of sharding)": ratio(
    "readAll arena, Model plain",
    fileFloors.names.preadWarm,
  ),
  "loadFile single encrypted / plain (the single-file ratio, same bytes)": ratio(
    "loadFile single encrypted",
    "loadFile single plain",
  ),
  "page cache read, sharded plain / single plain (1 = alike)": ratio(
    "page cache: pread sharded plain into warm arena",
    fileFloors.names.preadWarm,
  ),
  "page cache read, sharded encrypted / single encrypted (1 = alike)": ratio(
    "page cache: pread sharded encrypted into warm arena",
    "page cache: pread single encrypted into warm arena",
  ),
  "page cache read, sharded encrypted / sharded plain (1 = alike)": ratio(
    "page cache: pread sharded encrypted into warm arena",
    "page cache: pread sharded plain into warm arena",
  ),
};
const bounds = loadBounds(stats, floors.names, {
  cores: floors.cores,
  plainFresh: "loadModel sharded plain",
  plainWarm: "readAll arena, Model plain",
});
const designs = designBounds(
  stats,
  { ...fileFloors.names, ...floors.names },
  {
    cores: floors.cores,
    plainFresh: "loadModel sharded plain",
    plainWarm: "readAll arena, Model plain",
  },
);
report("model-load", rows, {
  model: { bytes, tensors: count, shards, shardBytes: SHARD_BYTES },
  rounds: ROUNDS,
  pageCache: { rebuilt: pageCacheRebuilt, ms: rewarmMs },
  stats,
  ratios,
  bounds,
  designs,
  floorNames: floors.names,
  fileFloorNames: fileFloors.names,
  native: api.nativeInfo(),
});
console.table(ratios);
console.log("bounds", JSON.stringify(bounds, null, 2));
console.log("design bounds", JSON.stringify(designs, null, 2));

/**
 * A variant that preads the data section of each of `files` (after its header) into the warm
 * arena, file after file, with the addon's threads (as the pread floor of one file does).
 * @param {readonly string[]} files
 */
async function preadLayout(files) {
  const parts = [];
  for (const path of files) {
    const offset = dataSectionOffset(path);
    const length = statSync(path).size - offset;
    const handle = /** @type {any} */ (await api.binding.openFile(path));
    if (typeof handle === "number") throw new Error(`opening ${path} failed with status ${handle}`);
    parts.push({ handle, offset, length });
  }
  return {
    run: async () => {
      for (const { handle, offset, length } of parts) {
        const status = await handle.read(offset, length, arena.subarray(0, length));
        if (status !== 0) throw new Error(`pread of a layout failed with status ${status}`);
      }
    },
    close: async () => {
      for (const { handle } of parts) await handle.close();
    },
  };
}
