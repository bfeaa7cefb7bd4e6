// Peak resident set of a full load of the Qwen3-0.6B-shaped encrypted model into one caller
// arena (the addon's allocateArena when the package has it), measured in a fresh child process
// (VmHWM), against the model's bytes. Target: peak <= model bytes + 64 MiB. The rows show the
// parts: bare Node (the child's RSS before importing the package: a floor that is Node's, not
// the package's), what `import` adds, what `openFile` adds, and what the load adds beyond the
// model's bytes; and the anonymous / file-backed split at the end (file-backed pages are the code
// of Node and of the addon, shared with every process that maps them).
//
// What the load itself holds beyond the model (issue 13, session 6): the arena maps to the 4 KiB
// page (no partial huge page at its end); the threads' scratch buffers are unmapped before the
// destination's last MiBs are touched (native/plan.cc, the scratchless tail of a load into fresh
// memory), so they are not part of the peak; the addon's code pages touched once by ipsec-mb's
// start-up self-tests are dropped from the page tables (native/code-pages.cc). What is left is
// Node's: its binary's pages (V8's optimizing compiler, which still compiles parts of the header
// parser during an open: the --no-opt row shows its share), the V8 heap, thread stacks.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchScale, loadPackage, report, tempDir } from "../lib/common.mjs";
import { writeQwen3 } from "../lib/fixtures.mjs";

const api = await loadPackage();
const dir = tempDir("rss");
const model = await writeQwen3(api, dir, benchScale().layers);
const keysPath = join(dir, "keys.json");
writeFileSync(keysPath, JSON.stringify(model.keys.set));
const dist = join(
  process.env.CRYPTOTENSORS_DIST ?? join(import.meta.dirname, "..", "..", "dist"),
  "index.js",
);
// Fresh children, encrypted and plaintext interleaved (E, P, E, P, ...): a resident set varies by
// a few MiB from process to process (heap growth, which threads ran what), so each figure is the
// best (lowest peak) of the rounds, with the median and spread beside it.
const rounds = Math.max(3, Math.min(benchScale().rounds, 5));
/** One fresh child loading `path`; `nodeFlags` for the diagnostic run below. */
const child = (path, nodeFlags = []) => {
  const run = spawnSync(
    process.execPath,
    [...nodeFlags, join(import.meta.dirname, "..", "lib", "rss-child.mjs"), dist, path, keysPath],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
};
const runs = { encrypted: [], plaintext: [] };
for (let round = 0; round < rounds; round++) {
  for (const [label, path] of [
    ["encrypted", model.encrypted],
    ["plaintext", model.plain],
  ]) {
    runs[label].push(child(path));
  }
}
// Diagnostic, not the target figure: the same encrypted load under `node --no-opt`. The
// difference is what V8's optimizing compiler costs (its code pages in the node binary and its
// zone memory), which runs once the header parser gets hot: a part of the peak that only less
// JavaScript per header byte could remove.
const noOpt = [0, 1].map(() => child(model.encrypted, ["--no-opt"]));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const results = {};
const overModel = {};
for (const [label, list] of Object.entries(runs)) {
  results[label] = list.reduce((best, r) => (r.peak < best.peak ? r : best));
  const over = list.map((r) => r.peak - model.bytes);
  overModel[label] = { median: median(over), spread: Math.max(...over) - Math.min(...over) };
}
const MiB = 2 ** 20;
const mib = (bytes) => +(bytes / MiB).toFixed(1);
const rows = Object.entries(results).map(([label, r]) => ({
  what: `readAll into one arena (${r.arenaKind}), ${label}`,
  "model MiB": mib(model.bytes),
  "bare node MiB": mib(r.node),
  "import + MiB": mib(r.imported - r.node),
  "open + MiB": mib(r.opened - r.imported),
  "RSS before MiB": mib(r.before),
  "peak RSS MiB": mib(r.peak),
  "peak - model MiB": mib(r.peak - model.bytes),
  "peak - model median MiB": mib(overModel[label].median),
  "spread MiB": mib(overModel[label].spread),
  // What the load itself adds beyond the arena, without Node's and the package's own resident set.
  "peak - before - model MiB": mib(r.peak - r.before - model.bytes),
  "peak - model - bare node MiB": mib(r.peak - model.bytes - r.node),
  "anon / file at end MiB": `${mib(r.anonAtEnd)} / ${mib(r.fileAtEnd)}`,
  "addon file pages MiB": mib(r.addonAtEnd ?? 0),
  "V8 new / old space MiB": `${mib(r.newSpaceAtEnd ?? 0)} / ${mib(r.oldSpaceAtEnd ?? 0)}`,
}));
const noOptBest = noOpt.reduce((best, r) => (r.peak < best.peak ? r : best));
const ratios = {
  "encrypted peak RSS - model bytes, MiB (target <= 64)": mib(results.encrypted.peak - model.bytes),
  "encrypted peak RSS - model bytes, median MiB": mib(overModel.encrypted.median),
  // The floor: Node's own resident set before the package is imported (not the package's).
  "bare node RSS, MiB (floor)": mib(results.encrypted.node),
  "encrypted peak RSS - model bytes - bare node, MiB": mib(
    results.encrypted.peak - model.bytes - results.encrypted.node,
  ),
  // Diagnostic (best of 2 runs under --no-opt): the optimizing compiler's share of the above.
  "encrypted peak RSS - model bytes under node --no-opt, MiB (diagnostic)": mib(
    noOptBest.peak - model.bytes,
  ),
};
report("peak-rss", rows, {
  model: { bytes: model.bytes },
  rounds,
  results,
  runs,
  noOpt,
  ratios,
});
console.table(ratios);
