// Open latency of an encrypted file with ~300 tensors (the Qwen3-0.6B layout, scaled down to
// tiny shapes so only the header matters): read + parse the header, verify the Ed25519 signature,
// evaluate the policy and unwrap every data key. Baseline: opening the plaintext twin, interleaved
// with it in one process (A, B, B, A, ...: a busy host slows both alike), one open + close per
// sample, with the process's CPU time (all threads) next to the wall time.
// The same for the real Qwen3-0.6B-shaped model's headers (2 MiB chunks: ~870 chunk tags, a
// 122 KB header), interleaved with the others: the tiny tensors' header understates what a real
// model's open costs. Those files hold the real headers with the data left as holes (an open reads
// only the header), so the scenario writes 1.19 GB once but keeps no data on disk.
import { closeSync, ftruncateSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { benchKeys, fillPattern, loadPackage, report, tempDir } from "../lib/common.mjs";
import { qwen3Shapes, qwen3Tensors } from "../lib/fixtures.mjs";
import { interleaved } from "../lib/interleave.mjs";

const api = await loadPackage();
const dir = tempDir("open");
/** @type {Record<string, import("../../dist/index.js").TensorInput>} */
const tensors = {};
for (const [name] of qwen3Shapes())
  tensors[name] = { dtype: "F16", shape: [8], data: fillPattern(new Uint8Array(16)) };
const keys = benchKeys(api);
const encrypted = join(dir, "open-encrypted.safetensors");
const plain = join(dir, "open-plain.safetensors");
await api.saveFile(encrypted, tensors, { encryption: { ...keys.encryption } });
await api.saveFile(plain, tensors);

/** `path` as a sparse file: its header bytes, then a hole up to its size; the original is removed. */
function headerOnly(/** @type {string} */ path, /** @type {string} */ to) {
  const fd = openSync(path, "r");
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  const head = Buffer.alloc(8 + Number(prefix.readBigUInt64LE(0)));
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const out = openSync(to, "w");
  writeSync(out, head, 0, head.length, 0);
  ftruncateSync(out, statSync(path).size);
  closeSync(out);
  rmSync(path);
}
const modelEncrypted = join(dir, "model-encrypted.safetensors");
const modelPlain = join(dir, "model-plain.safetensors");
const CHUNK = 2 * 1024 * 1024;
/** Chunk tags of the real model (a tensor of n bytes has ceil(n / 2 MiB) of them, at least one). */
const chunkTags = await (async () => {
  const { tensors: modelTensors } = qwen3Tensors(); // 1.19 GB, released when this returns
  await api.saveFile(join(dir, "full-enc"), modelTensors, { encryption: { ...keys.encryption } });
  await api.saveFile(join(dir, "full-plain"), modelTensors);
  headerOnly(join(dir, "full-enc"), modelEncrypted);
  return Object.values(modelTensors).reduce(
    (n, t) => n + Math.max(1, Math.ceil(t.data.length / CHUNK)),
    0,
  );
})();
headerOnly(join(dir, "full-plain"), modelPlain);
/** The N of a file's 8-byte header length prefix. */
function headerLength(/** @type {string} */ path) {
  const fd = openSync(path, "r");
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  closeSync(fd);
  return Number(prefix.readBigUInt64LE(0));
}

/** One open + close; `keys` is the JWK set as a caller passes it (parsed on every open). */
async function openClose(/** @type {string} */ path, /** @type {object} */ options) {
  const file = await api.openFile(path, options);
  await file.close();
}
const ENCRYPTED = "open + close, encrypted";
const PLAIN = "open + close, plaintext";
const MODEL_ENCRYPTED = "open + close, encrypted, real model header";
const MODEL_PLAIN = "open + close, plaintext, real model header";
// Warm-up: compiled code, the policy engine's cache, the key server of nothing: steady state.
for (let i = 0; i < 20; i++) {
  await openClose(encrypted, { keys: keys.set });
  await openClose(plain, {});
  await openClose(modelEncrypted, { keys: keys.set });
  await openClose(modelPlain, {});
}
const rounds = Number(process.env.CRYPTOTENSORS_BENCH_OPEN_ROUNDS ?? 80);
const stats = await interleaved(
  {
    [ENCRYPTED]: () => openClose(encrypted, { keys: keys.set }),
    [PLAIN]: () => openClose(plain, {}),
    [MODEL_ENCRYPTED]: () => openClose(modelEncrypted, { keys: keys.set }),
    [MODEL_PLAIN]: () => openClose(modelPlain, {}),
  },
  // No forced full GC before each sample: an open never follows one in real use, and after one
  // V8's heap regrowth made the median 3-5x the unforced one (17 vs 3.4 ms, same build and host).
  { rounds, gc: false },
);
const enc = stats[ENCRYPTED];
const pln = stats[PLAIN];
const modelEnc = stats[MODEL_ENCRYPTED];
const modelPln = stats[MODEL_PLAIN];
if (!enc || !pln || !modelEnc || !modelPln)
  throw new Error("open-latency: a variant has no samples");
const count = Object.keys(tensors).length;
const headerKB = Math.round(headerLength(modelEncrypted) / 1000);
const plainHeaderKB = Math.round(headerLength(modelPlain) / 1000);
const row = (/** @type {string} */ what, /** @type {typeof enc} */ s) => ({
  what,
  "best ms": +s.best.toFixed(2),
  "median ms": +s.median.toFixed(2),
  spread: `${(100 * s.spread).toFixed(0)}%`,
  "best CPU ms": +s.cpuBest.toFixed(2),
  "median CPU ms": +s.cpuMedian.toFixed(2),
  "minor faults": s.minorFaults,
});
const rows = [
  row(`${ENCRYPTED} (${count} tensors: verify, policy, ${count} DEK unwraps)`, enc),
  row(`${PLAIN} (${count} tensors)`, pln),
  row(`${MODEL_ENCRYPTED} (${count} tensors, ${chunkTags} chunk tags, ${headerKB} KB)`, modelEnc),
  row(`${MODEL_PLAIN} (${count} tensors, ${plainHeaderKB} KB)`, modelPln),
];
const ratios = {
  "encrypted open median ms (target <= 10)": +enc.median.toFixed(2),
  "encrypted open best ms": +enc.best.toFixed(2),
  "encrypted / plaintext open, best": +(enc.best / pln.best).toFixed(2),
  "encrypted / plaintext open, median CPU": +(enc.cpuMedian / pln.cpuMedian).toFixed(2),
  "real model header: encrypted open median ms (target <= 10)": +modelEnc.median.toFixed(2),
  "real model header: encrypted open best ms": +modelEnc.best.toFixed(2),
  "real model header: encrypted / plaintext open, median": +(
    modelEnc.median / modelPln.median
  ).toFixed(2),
  "real model header: encrypted / plaintext open, median CPU": +(
    modelEnc.cpuMedian / modelPln.cpuMedian
  ).toFixed(2),
  rounds,
  tensors: count,
};
report("open-latency", rows, { ratios });
console.table(ratios);
