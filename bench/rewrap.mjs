// Benchmark: key rotation of a 1 GiB encrypted model with rewrapFile, against a full copy of
// the same file in the same run (what any rewrite of the data costs at least; the reference's
// rewrap_file reads and rewrites the whole file). Rows: in place (journaled header rewrite,
// O(header)), to a new file when the header fits (clone + header patch + fsync), to a new file
// when the header grows (data streamed), the baselines fs.copyFile with and without fsync, and
// — when the interop venv exists — the reference package's rewrap_file timed inside Python.
// Prints a table and writes bench/results/rewrap.json.
//
// Run: npm run build:ts && node bench/rewrap.mjs   (BENCH_REWRAP_BYTES overrides the 1 GiB size)
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, open, rm, mkdtemp } from "node:fs/promises";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(process.env.CRYPTOTENSORS_DIST ?? join(root, "dist"), "index.js");
if (!existsSync(entry)) {
  console.error(`bench/rewrap.mjs: ${entry} is missing; run \`npm run build:ts\` first`);
  process.exit(1);
}
const { generateKeys, rewrapFile, saveFile, loadFile } = await import(entry);

const totalBytes = Number(process.env.BENCH_REWRAP_BYTES ?? 1024 ** 3);
const TENSOR_BYTES = 64 * 1024 * 1024;
const tensorCount = Math.max(1, Math.round(totalBytes / TENSOR_BYTES));
const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "ct-bench-rewrap-"));
const at = (name) => join(dir, name);

// Same kid lengths for A and B, so rotating back and forth always fits the header in place.
const keysA = generateKeys({ encKid: "enc-a", signKid: "sign-a" });
const keysB = generateKeys({ encKid: "enc-b", signKid: "sign-b" });
const keysLong = generateKeys({
  encKid: "enc-rotated-with-a-much-longer-key-identifier",
  signKid: "sign-rotated-with-a-much-longer-key-identifier",
});

console.log(
  `writing a ${((tensorCount * TENSOR_BYTES) / 1024 ** 3).toFixed(2)} GiB encrypted model (${tensorCount} tensors) in ${dir} …`,
);
const shared = new Uint8Array(randomBytes(TENSOR_BYTES));
const tensors = Object.fromEntries(
  Array.from({ length: tensorCount }, (_, i) => [
    `layers.${String(i).padStart(3, "0")}.weight`,
    { dtype: "U8", shape: [TENSOR_BYTES], data: shared },
  ]),
);
const model = at("model.ct");
await saveFile(model, tensors, {
  metadata: { format: "pt" },
  encryption: { encKey: keysA.keys[0], signKey: keysA.keys[1] },
});
const fileBytes = statSync(model).size;

let current = keysA;
const methods = {};
async function rotateInPlace() {
  const next = current === keysA ? keysB : keysA;
  const result = await rewrapFile(model, {
    oldKeys: current,
    newEncKey: next.keys[0],
    newSignKey: next.keys[1],
  });
  methods["in place"] = result.method;
  current = next;
}
async function rotateToNewFile() {
  const next = current === keysA ? keysB : keysA;
  const result = await rewrapFile(model, {
    oldKeys: current,
    newEncKey: next.keys[0],
    newSignKey: next.keys[1],
    output: at("clone.ct"),
  });
  methods["new file"] = result.method;
}
async function rotateGrowing() {
  const result = await rewrapFile(model, {
    oldKeys: current,
    newEncKey: keysLong.keys[0],
    newSignKey: keysLong.keys[1],
    output: at("grown.ct"),
  });
  methods["grown"] = result.method;
}
async function copyOnly() {
  await copyFile(model, at("copy.bin"));
}
async function copyAndSync() {
  await copyFile(model, at("copy-sync.bin"));
  const handle = await open(at("copy-sync.bin"), "r+");
  await handle.sync();
  await handle.close();
}

const bench = new Bench({
  iterations: Number(process.env.BENCH_REWRAP_ITERATIONS ?? 5),
  time: 0,
  warmup: true,
  warmupIterations: 1,
  warmupTime: 0,
});
bench
  .add("rewrapFile in place (journaled header rewrite)", rotateInPlace)
  .add("rewrapFile → new file, header fits (clone + patch + fsync)", rotateToNewFile)
  .add("rewrapFile → new file, header grows (data streamed + fsync)", rotateGrowing)
  .add("baseline: fs.copyFile of the whole file", copyOnly)
  .add("baseline: fs.copyFile + fsync", copyAndSync);
await bench.run();

const rows = bench.tasks.map((t) => ({
  task: t.name,
  "mean (ms)": +t.result.latency.mean.toFixed(2),
  "min (ms)": +t.result.latency.min.toFixed(2),
  "max (ms)": +t.result.latency.max.toFixed(2),
  samples: t.result.latency.samples.length,
}));

// The reference's rewrap_file (reads the file, rewrites it whole, in place), timed inside Python.
const python = join(root, ".cache", "interop-venv", "bin", "python");
if (existsSync(python) && process.env.BENCH_REWRAP_SKIP_REFERENCE !== "1") {
  const refFile = at("reference.ct");
  await copyFile(model, refFile);
  const program = `
import json, sys, time, cryptotensors
req = json.loads(sys.stdin.read())
keys = [req["a"], req["b"]]
times = []
for i in range(req["n"]):
    old, new = keys[i % 2], keys[(i + 1) % 2]
    cfg = {"enc_key": new["keys"][0], "sign_key": new["keys"][1]}
    t0 = time.perf_counter()
    cryptotensors.rewrap_file(req["path"], cfg, {"enc_key": old["keys"][0], "sign_key": old["keys"][1]})
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps(times))
`;
  const startKeys = current;
  const otherKeys = current === keysA ? keysB : keysA;
  const run = spawnSync(python, ["-c", program], {
    input: JSON.stringify({ path: refFile, a: startKeys, b: otherKeys, n: 3 }),
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (run.status === 0) {
    const times = JSON.parse(run.stdout);
    rows.push({
      task: "reference: cryptotensors.rewrap_file (in place, not atomic)",
      "mean (ms)": +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2),
      "min (ms)": +Math.min(...times).toFixed(2),
      "max (ms)": +Math.max(...times).toFixed(2),
      samples: times.length,
    });
  } else {
    console.error(`reference rewrap skipped: ${run.stderr.trim().split("\n").pop()}`);
  }
}

// Sanity: the rotated model still loads with the current keys (one tensor is enough).
const check = await loadFile(model, { keys: current });
if (Object.keys(check).length !== tensorCount) throw new Error("the rotated model lost tensors");

console.table(rows);
const mean = (name) => rows.find((r) => r.task.startsWith(name))?.["mean (ms)"];
const inPlace = mean("rewrapFile in place");
const copy = mean("baseline: fs.copyFile of");
const ratio = copy / inPlace;
console.log(
  `file ${(fileBytes / 1024 ** 3).toFixed(3)} GiB; in-place rewrap ${inPlace} ms vs full copy ${copy} ms: ${ratio.toFixed(1)}× faster (methods: ${JSON.stringify(methods)})`,
);

mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(
  join(root, "bench", "results", "rewrap.json"),
  `${JSON.stringify(
    {
      scenario: "rewrap a 1 GiB encrypted model vs copying it",
      node: process.version,
      fileBytes,
      tensors: tensorCount,
      methods,
      rows,
      ratioCopyOverInPlace: +ratio.toFixed(1),
    },
    null,
    2,
  )}\n`,
);
await rm(dir, { recursive: true, force: true });
