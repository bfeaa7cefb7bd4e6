// Benchmark (not a test): hostile headers of issue 11, finding 6 — a shape of millions of 1s,
// millions of tensors, millions of metadata keys, each filling a header of BENCH_HEADER_MB
// (default 99, just under the 100 MB cap) — opened by us (native and fallback backends), by HF
// safetensors and by the reference package (both from the interop venv, when it exists). Each
// open runs in a fresh process (so peak RSS is that open's alone), interleaved A,B,C,D,A,B,C,D…
// BENCH_HEADER_RUNS times; the table reports best/median/spread of the time, the peak RSS, page
// faults and what each implementation answered; bench/results/header-limits.json keeps it all.
//
// Run: npm run build:ts && node bench/header-limits.mjs   (BENCH_HEADER_MB=20 for a quick run)
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(process.env.CRYPTOTENSORS_DIST ?? join(root, "dist"), "index.js");
if (!existsSync(dist)) {
  console.error(`bench/header-limits.mjs: ${dist} is missing; run \`npm run build:ts\` first`);
  process.exit(1);
}
const python = join(root, ".cache/interop-venv/bin/python");
const headerBytes = Math.round(Number(process.env.BENCH_HEADER_MB ?? 99) * 1e6);
const runs = Number(process.env.BENCH_HEADER_RUNS ?? 3);
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "ct-bench-header-"));

/** Writes 8-byte N ‖ header built from head + repeated unit + tail, as long as fits in headerBytes. */
function hostile(name, head, unit, tail, extraData = 0) {
  const count = Math.floor((headerBytes - head.length - tail.length) / unit(0).length);
  const path = join(dir, name);
  const fd = openSync(path, "w");
  const pieces = [];
  let length = head.length + tail.length;
  for (let i = 0; i < count; i++) {
    const piece = unit(i);
    if (length + piece.length > headerBytes) break;
    pieces.push(piece);
    length += piece.length;
  }
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  writeSync(fd, prefix);
  writeSync(fd, head);
  for (let i = 0; i < pieces.length; i += 65536) writeSync(fd, pieces.slice(i, i + 65536).join(""));
  writeSync(fd, tail);
  if (extraData > 0) writeSync(fd, Buffer.alloc(extraData));
  closeSync(fd);
  return { path, count: pieces.length };
}

const cases = [
  (() => {
    const f = hostile(
      "shape.safetensors",
      '{"w":{"dtype":"U8","shape":[1',
      () => ",1",
      '],"data_offsets":[0,1]}}',
      1,
    );
    return { name: `shape of ${f.count + 1} dims`, path: f.path };
  })(),
  (() => {
    const f = hostile(
      "tensors.safetensors",
      "{",
      (i) => `"t${String(i).padStart(7, "0")}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},`,
      '"z":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}',
    );
    return { name: `${f.count + 1} tensors`, path: f.path };
  })(),
  (() => {
    const f = hostile(
      "metadata.safetensors",
      '{"__metadata__":{',
      (i) => `"k${String(i).padStart(7, "0")}":"",`,
      '"z":""}}',
    );
    return { name: `${f.count + 1} metadata keys`, path: f.path };
  })(),
];

const contenders = [
  {
    name: "ours (native)",
    run: (p) => [
      process.execPath,
      join(root, "bench/lib/open-header-child.mjs"),
      dist,
      p,
      "native",
    ],
  },
  {
    name: "ours (fallback)",
    run: (p) => [
      process.execPath,
      join(root, "bench/lib/open-header-child.mjs"),
      dist,
      p,
      "fallback",
    ],
  },
  ...(existsSync(python)
    ? [
        {
          name: "HF safetensors 0.7.0",
          run: (p) => [python, join(root, "bench/py/open_header.py"), "hf", p],
        },
        {
          name: "reference cryptotensors 0.2.3",
          run: (p) => [python, join(root, "bench/py/open_header.py"), "ref", p],
        },
      ]
    : []),
];

const results = [];
for (const c of cases) {
  const samples = new Map(contenders.map((x) => [x.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const x of contenders) {
      const [cmd, ...args] = x.run(c.path);
      const child = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
      let sample;
      try {
        sample = JSON.parse(child.stdout.trim().split("\n").pop());
      } catch {
        sample = {
          ok: false,
          error: `crashed (status ${child.status}, signal ${child.signal}): ${child.stderr.slice(-160)}`,
          seconds: NaN,
          peakRss: NaN,
          minflt: NaN,
          majflt: NaN,
        };
      }
      samples.get(x.name).push(sample);
    }
  }
  for (const [name, list] of samples) {
    const times = list.map((s) => s.seconds).sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    results.push({
      case: c.name,
      implementation: name,
      answer: list[0].ok ? "accepted" : list[0].error,
      bestSeconds: times[0],
      medianSeconds: median,
      spread: times[times.length - 1] - times[0],
      peakRssMB: Math.max(...list.map((s) => s.peakRss)) / 1e6,
      minorFaults: Math.round(list.reduce((a, s) => a + s.minflt, 0) / list.length),
      majorFaults: Math.round(list.reduce((a, s) => a + s.majflt, 0) / list.length),
    });
  }
}

console.log(
  `hostile headers of ${(headerBytes / 1e6).toFixed(0)} MB, ${runs} interleaved runs each`,
);
console.table(
  results.map((r) => ({
    case: r.case,
    implementation: r.implementation,
    "best s": r.bestSeconds.toFixed(2),
    "median s": r.medianSeconds.toFixed(2),
    "spread s": r.spread.toFixed(2),
    "peak RSS MB": r.peakRssMB.toFixed(0),
    "minor faults": r.minorFaults,
    answer: String(r.answer).slice(0, 70),
  })),
);
for (const c of cases) {
  const ours = results.find((r) => r.case === c.name && r.implementation === "ours (native)");
  for (const other of results.filter(
    (r) => r.case === c.name && !r.implementation.startsWith("ours"),
  )) {
    console.log(
      `${c.name}: ours/${other.implementation} time ${(ours.medianSeconds / other.medianSeconds).toFixed(2)}x, peak RSS ${(ours.peakRssMB / other.peakRssMB).toFixed(2)}x`,
    );
  }
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/header-limits.json"),
  `${JSON.stringify({ headerBytes, runs, results }, null, 2)}\n`,
);
rmSync(dir, { recursive: true, force: true });
