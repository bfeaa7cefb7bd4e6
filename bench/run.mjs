// `npm run bench`: runs every scenario of bench/scenarios, then the policy and rewrap benches, each
// in its own fresh Node process (so that heaps, page-fault state and thread pools never leak
// between them), then prints the targets with the ratios measured in this run (met / NOT met and
// the same-run figure that bounds each) and writes bench/results/summary.json.
//
// Options (environment): CRYPTOTENSORS_BENCH_ONLY=retained-load,encrypt runs a subset;
// CRYPTOTENSORS_BENCH_SKIP=remote-load,onnx-startup leaves some out;
// CRYPTOTENSORS_BENCH_QUICK=1 shrinks every size (see bench/lib/common.mjs: benchScale), or
// CRYPTOTENSORS_BENCH_LAYERS / _ROUNDS / _TENSOR_MIB one by one;
// CRYPTOTENSORS_BENCH_TMP=/some/dir puts the generated models elsewhere than the OS temp dir;
// CRYPTOTENSORS_BENCH_NO_REFERENCE=1 does not make the reference package's venv when it is missing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { machine, RESULTS, ROOT } from "./lib/common.mjs";
import { ensureReferenceVenv } from "./lib/reference.mjs";

const ORDER = [
  "decrypt-throughput",
  "retained-load",
  "model-load",
  "slice",
  "open-latency",
  "encrypt",
  "peak-rss",
];
const dir = join(ROOT, "bench", "scenarios");
/** Benches outside bench/scenarios, run after them. */
const EXTRA = {
  policy: join(ROOT, "bench", "policy.mjs"),
  rewrap: join(ROOT, "bench", "rewrap.mjs"),
};
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => f.replace(/\.mjs$/, ""));
const only = process.env.CRYPTOTENSORS_BENCH_ONLY?.split(",").filter(Boolean);
const skip = process.env.CRYPTOTENSORS_BENCH_SKIP?.split(",").filter(Boolean) ?? [];
const scenarios = [
  ...ORDER.filter((s) => available.includes(s)),
  ...available.filter((s) => !ORDER.includes(s)).sort(),
  ...Object.keys(EXTRA),
].filter((s) => (!only || only.includes(s)) && !skip.includes(s));
const quick = process.env.CRYPTOTENSORS_BENCH_QUICK === "1";
// The rewrap bench has its own size settings; a quick run shrinks them too.
const env = {
  ...process.env,
  ...(quick && !process.env.BENCH_REWRAP_BYTES ? { BENCH_REWRAP_BYTES: String(256 << 20) } : {}),
  ...(quick && !process.env.BENCH_REWRAP_ITERATIONS ? { BENCH_REWRAP_ITERATIONS: "3" } : {}),
};

const started = Date.now();
// The reference package's figures need its venv; made here once, outside every scenario's time.
if (
  process.env.CRYPTOTENSORS_BENCH_NO_REFERENCE !== "1" &&
  scenarios.some((s) => ["retained-load", "rewrap"].includes(s))
)
  ensureReferenceVenv();
const failed = [];
/** @type {Record<string, number>} */
const seconds = {};
for (const scenario of scenarios) {
  const t = Date.now();
  console.log(`\n### ${scenario}`);
  rmSync(join(RESULTS, `${scenario}.json`), { force: true }); // never summarise a stale result
  const script = EXTRA[scenario] ?? join(dir, `${scenario}.mjs`);
  const run = spawnSync(process.execPath, ["--expose-gc", script], {
    stdio: "inherit",
    cwd: ROOT,
    env,
    timeout: 15 * 60_000,
  });
  if (run.status !== 0) failed.push(scenario);
  seconds[scenario] = Math.round((Date.now() - t) / 1000);
  console.log(
    `### ${scenario}: ${run.status === 0 ? "done" : `FAILED (${run.status ?? run.signal})`} in ${((Date.now() - t) / 1000).toFixed(0)} s`,
  );
}

// Only results written by this invocation: a subset run never reports an older run's figures.
const load = (name) =>
  scenarios.includes(name) && existsSync(join(RESULTS, `${name}.json`))
    ? JSON.parse(readFileSync(join(RESULTS, `${name}.json`), "utf8"))
    : null;
const d = load("decrypt-throughput"),
  l = load("retained-load"),
  e = load("encrypt"),
  s = load("slice"),
  o = load("open-latency"),
  r = load("peak-rss"),
  remote = load("remote-load");
/** Adds one result's targets; a result of another shape (an older scenario) is an error row, never a crash. */
const section = (result, fn) => {
  if (!result) return;
  try {
    fn();
  } catch (error) {
    targets.push({
      target: `${result.scenario ?? "a scenario"}: its targets could not be read`,
      measured: error instanceof Error ? error.message : String(error),
      verdict: "error",
      "same-run bound": "",
    });
  }
};
const verdict = (value, ok) =>
  value === null || value === undefined ? "n/a" : ok ? "met" : "NOT met";
const targets = [];
const add = (target, value, ok, bound) =>
  targets.push({
    target,
    measured: value ?? "n/a",
    verdict: verdict(value, ok),
    "same-run bound": bound,
  });
section(d, () => {
  const q = d.ratios;
  add(
    "decrypt (fast engine, warm) >= 0.85 x memcpy 2 threads",
    q["fast engine warm / memcpy 2 threads (target >= 0.85)"],
    q["fast engine warm / memcpy 2 threads (target >= 0.85)"] >= 0.85,
    `memcpy x2 ${d.baselines.memcpy2} GB/s`,
  );
  add(
    "decrypt (OpenSSL engine, warm) >= 0.90 x openssl speed -multi 2",
    q["openssl engine warm / openssl speed -multi 2 (target >= 0.90)"],
    q["openssl engine warm / openssl speed -multi 2 (target >= 0.90)"] >= 0.9,
    `openssl speed -multi 2 ${d.baselines.opensslSpeedMulti2} GB/s`,
  );
  add(
    ">= 200 x pure-JS AES-GCM",
    q["fast warm / pure JS (target >= 200)"],
    q["fast warm / pure JS (target >= 200)"] >= 200,
    `@noble/ciphers ${d.baselines.noble} GB/s`,
  );
  add(
    ">= 5 x node:crypto, 1 thread",
    q["fast warm / node:crypto 1 thread (target >= 5)"],
    q["fast warm / node:crypto 1 thread (target >= 5)"] >= 5,
    `node:crypto ${d.baselines.nodeCrypto1} GB/s`,
  );
  add(
    ">= 2.5 x node:crypto, 2 workers",
    q["fast warm / node:crypto 2 workers (target >= 2.5)"],
    q["fast warm / node:crypto 2 workers (target >= 2.5)"] >= 2.5,
    `node:crypto x2 ${d.baselines.nodeCryptoWorkers2} GB/s`,
  );
});
section(l, () => {
  const q = l.ratios;
  const st = l.stats;
  const enc = st["loadFile encrypted (retained)"];
  const plain = st["loadFile plaintext (retained)"];
  const spread = (/** @type {{ spread: number }} */ x) => `${(100 * x.spread).toFixed(0)}%`;
  add(
    "retained loadFile encrypted <= 1.10 x retained plaintext (best)",
    q["retained loadFile encrypted / plaintext (target <= 1.10)"],
    q["retained loadFile encrypted / plaintext (target <= 1.10)"] <= 1.1,
    `floor (${l.floor.name.replace("floor: ", "")}) ${l.floor.ms?.toFixed(0)} ms; encrypted ${enc.best.toFixed(0)} ms (spread ${spread(enc)}), plaintext ${plain.best.toFixed(0)} ms (spread ${spread(plain)})`,
  );
  const ref = st["reference Python package (retained, safe_open + get_tensor)"];
  add(
    "retained loadFile encrypted >= 2 x faster than the reference's retained load",
    q["reference retained / loadFile encrypted retained (target >= 2)"],
    q["reference retained / loadFile encrypted retained (target >= 2)"] >= 2,
    ref ? `reference ${ref.best.toFixed(0)} ms (spread ${spread(ref)})` : l.reference,
  );
  targets.push({
    target: "minor page faults per retained load (goal: a few thousand per 1.19 GB)",
    measured: `${enc.minorFaults} encrypted / ${plain.minorFaults} plaintext`,
    verdict: "reported",
    "same-run bound": `floor ${st[l.floor.name]?.minorFaults} (${l.floor.name.replace("floor: ", "")}); ${(l.model.bytes / 1e9).toFixed(2)} GB model`,
  });
  add(
    "readAll({into}) warm arena: encrypted <= 1.05 x plaintext",
    q["readAll warm arena encrypted / plaintext (target <= 1.05)"],
    q["readAll warm arena encrypted / plaintext (target <= 1.05)"] <= 1.05,
    `plaintext ${st["readAll warm arena, plaintext"].best.toFixed(0)} ms; arena: ${l.arena}`,
  );
});
section(e, () => {
  const q = e.ratios;
  const st = e.stats;
  add(
    "saveFile encrypted >= 0.95 x plaintext write (speed)",
    q["saveFile encrypted speed / plaintext (target >= 0.95)"],
    q["saveFile encrypted speed / plaintext (target >= 0.95)"] >= 0.95,
    `plaintext ${st["saveFile plaintext"].best.toFixed(0)} ms; raw fs writes + fsync ${st["baseline: fs writes of the same tensors + fsync"].best.toFixed(0)} ms`,
  );
  add(
    "convertFile plain -> encrypted >= 0.95 x plain -> plaintext (speed)",
    q["convertFile → encrypted speed / → plaintext (target >= 0.95)"],
    q["convertFile → encrypted speed / → plaintext (target >= 0.95)"] >= 0.95,
    `→ plaintext ${st["convertFile plain → plaintext"].best.toFixed(0)} ms`,
  );
});
section(s, () =>
  add(
    "1% slice decrypts only the chunks it overlaps",
    `${s.decrypted} / ${s.overlapped} B`,
    s.decrypted <= s.overlapped,
    `whole/slice time ${s.ratios["whole / slice time"]}x`,
  ),
);
section(o, () =>
  add(
    "open <= 10 ms for ~300 encrypted tensors",
    o.ratios["encrypted open median ms (target <= 10)"],
    o.ratios["encrypted open median ms (target <= 10)"] <= 10,
    `plaintext open ${o.rows[1]["median ms"]} ms`,
  ),
);
section(remote, () => {
  const q = remote.ratios;
  add(
    "remote full load over loopback (nginx) <= 1.5 x local, median",
    q["full load remote / local, median (target <= 1.5)"],
    q["full load remote / local, median (target <= 1.5)"] <= 1.5,
    `local median ${remote.stats["full load, local"].median.toFixed(0)} ms`,
  );
  add(
    "remote 1% slice fetches exactly its covering chunks",
    `${remote.slice.fetchedForSlice.bytes} / ${remote.slice.coveringBytes} B`,
    remote.slice.exactlyCovering,
    `open fetched ${remote.slice.fetchedAtOpen.bytes} B (header ${remote.slice.headerBytes} B)`,
  );
});
section(r, () =>
  add(
    "peak RSS of a full encrypted load into a caller arena <= model + 64 MiB",
    `${r.ratios["encrypted peak RSS - model bytes, MiB (target <= 64)"]} MiB over`,
    r.ratios["encrypted peak RSS - model bytes, MiB (target <= 64)"] <= 64,
    `Node + package RSS before opening ${r.rows[0]["RSS before MiB"]} MiB; the load itself adds ${r.rows[0]["peak - before - model MiB"]} MiB (plaintext ${r.rows[1]?.["peak - before - model MiB"]})`,
  ),
);

const m = load("model-load");
section(m, () => {
  const q = m.ratios;
  add(
    "sharded model: loadModel encrypted <= 1.10 x plain",
    q["loadModel encrypted / plain (target <= 1.10)"],
    q["loadModel encrypted / plain (target <= 1.10)"] <= 1.1,
    `loadFile single encrypted ${m.stats["loadFile single encrypted"].best.toFixed(0)} ms`,
  );
  add(
    "sharded model: readAll warm arena encrypted within 15% of plain",
    q["readAll warm Model encrypted / plain (target <= 1.15)"],
    q["readAll warm Model encrypted / plain (target <= 1.15)"] <= 1.15,
    `${m.model.shards} shards, Model/TensorFile ${q["readAll warm Model / TensorFile, encrypted (cost of sharding)"]}`,
  );
});

const ox = load("onnx-startup");
section(ox, () => {
  for (const [key, value] of Object.entries(ox.ratios)) {
    if (!key.includes("target <= 1.15")) continue;
    const model = key.split(":")[0];
    add(
      `ONNX start-up (${model}): encrypted <= 1.15 x plaintext weights, median`,
      value,
      value <= 1.15,
      `onnxruntime alone ${ox.stats[`${model} ort-onnx`]["median ms"]} ms, ratio ${ox.ratios[`${model}: encrypted / ort-onnx, median`]}`,
    );
  }
});

const pol = load("policy");
section(pol, () =>
  targets.push({
    target: "policy: cached decision vs cold parse + compile + evaluate",
    measured: `${(pol.meanCachedMs * 1000).toFixed(1)} µs per decision`,
    verdict: "reported",
    "same-run bound": `cold is ${pol.ratioColdOverCached}x slower`,
  }),
);
const rw = load("rewrap");
section(rw, () =>
  targets.push({
    target: "rewrap in place vs copying the whole file",
    measured: `${rw.ratioCopyOverInPlace}x faster than fs.copyFile`,
    verdict: "reported",
    "same-run bound": `${(rw.fileBytes / 2 ** 30).toFixed(2)} GiB file`,
  }),
);

console.log(`\n== targets, all ratios and bounds from this run`);
console.table(targets);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  join(RESULTS, "summary.json"),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: machine(),
      seconds: Math.round((Date.now() - started) / 1000),
      secondsPerScenario: seconds,
      settings: {
        quick,
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => k.startsWith("CRYPTOTENSORS_BENCH_")),
        ),
      },
      failed,
      targets,
    },
    null,
    2,
  )}\n`,
);
console.log(
  `bench finished in ${((Date.now() - started) / 1000).toFixed(0)} s${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`,
);
process.exitCode = failed.length ? 1 : 0;
