// Peak resident set of a full load of the Qwen3-0.6B-shaped encrypted model into one caller
// arena (the addon's allocateArena when the package has it), measured in a fresh child process
// (VmHWM), against the model's bytes and the child's baseline RSS before loading (Node itself).
// Target: peak <= model bytes + 64 MiB.
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
const results = {};
for (const [label, path] of [
  ["encrypted", model.encrypted],
  ["plaintext", model.plain],
]) {
  const run = spawnSync(
    process.execPath,
    [join(import.meta.dirname, "..", "lib", "rss-child.mjs"), dist, path, keysPath],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(run.stderr);
  results[label] = JSON.parse(run.stdout);
}
const MiB = 2 ** 20;
const rows = Object.entries(results).map(([label, r]) => ({
  what: `readAll into one arena (${r.arenaKind}), ${label}`,
  "model MiB": +(model.bytes / MiB).toFixed(1),
  "RSS before MiB": +(r.before / MiB).toFixed(1),
  "peak RSS MiB": +(r.peak / MiB).toFixed(1),
  "peak - model MiB": +((r.peak - model.bytes) / MiB).toFixed(1),
  // What the load itself adds beyond the arena, without Node's and the package's own resident set.
  "peak - before - model MiB": +((r.peak - r.before - model.bytes) / MiB).toFixed(1),
}));
const ratios = {
  "encrypted peak RSS - model bytes, MiB (target <= 64)": +(
    (results.encrypted.peak - model.bytes) /
    MiB
  ).toFixed(1),
};
report("peak-rss", rows, { model: { bytes: model.bytes }, results, ratios });
console.table(ratios);
