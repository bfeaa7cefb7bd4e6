// Open latency of an encrypted file with ~300 tensors (the Qwen3-0.6B layout, scaled down to
// tiny shapes so only the header matters): read + parse the header, verify the Ed25519 signature,
// evaluate the policy and unwrap every data key. Baseline: opening the plaintext twin, interleaved
// with it in one process (A, B, B, A, ...: a busy host slows both alike), one open + close per
// sample, with the process's CPU time (all threads) next to the wall time.
import { join } from "node:path";
import { benchKeys, fillPattern, loadPackage, report, tempDir } from "../lib/common.mjs";
import { qwen3Shapes } from "../lib/fixtures.mjs";
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

/** One open + close; `keys` is the JWK set as a caller passes it (parsed on every open). */
async function openClose(/** @type {string} */ path, /** @type {object} */ options) {
  const file = await api.openFile(path, options);
  await file.close();
}
const ENCRYPTED = "open + close, encrypted";
const PLAIN = "open + close, plaintext";
// Warm-up: compiled code, the policy engine's cache, the key server of nothing: steady state.
for (let i = 0; i < 20; i++) {
  await openClose(encrypted, { keys: keys.set });
  await openClose(plain, {});
}
const rounds = Number(process.env.CRYPTOTENSORS_BENCH_OPEN_ROUNDS ?? 80);
const stats = await interleaved(
  {
    [ENCRYPTED]: () => openClose(encrypted, { keys: keys.set }),
    [PLAIN]: () => openClose(plain, {}),
  },
  // No forced full GC before each sample: an open never follows one in real use, and after one
  // V8's heap regrowth made the median 3-5x the unforced one (17 vs 3.4 ms, same build and host).
  { rounds, gc: false },
);
const enc = stats[ENCRYPTED];
const pln = stats[PLAIN];
if (!enc || !pln) throw new Error("open-latency: a variant has no samples");
const count = Object.keys(tensors).length;
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
];
const ratios = {
  "encrypted open median ms (target <= 10)": +enc.median.toFixed(2),
  "encrypted open best ms": +enc.best.toFixed(2),
  "encrypted / plaintext open, best": +(enc.best / pln.best).toFixed(2),
  "encrypted / plaintext open, median CPU": +(enc.cpuMedian / pln.cpuMedian).toFixed(2),
  rounds,
  tensors: count,
};
report("open-latency", rows, { ratios });
console.table(ratios);
