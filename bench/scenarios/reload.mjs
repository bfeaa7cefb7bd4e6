// Reloads with arena reuse (setArenaReuse): a server that swaps in new versions of its model keeps
// each loaded model until the next one is in, then drops it; with reuse on, the dropped model's
// memory serves a later load instead of fresh pages the kernel must zero (on this VM the bulk of
// a fresh load: see retained-load). Same Qwen3-0.6B-shaped model and retention as retained-load;
// interleaved rounds (rotated order) of loadFile encrypted, loadFile plaintext and the reference
// package's retained load (it has no reuse: its loads land in fresh memory, as in retained-load).
// Reports best, median, spread, CPU and faults, how many of our loads got recycled memory, and
// the ratios of the retained-load targets under reuse.
import { benchScale, loadPackage, report, tempDir } from "../lib/common.mjs";
import { writeQwen3 } from "../lib/fixtures.mjs";
import { bestRatio, interleaved, statsRows } from "../lib/interleave.mjs";
import { referencePython, startReferenceLoader } from "../lib/reference.mjs";

const api = await loadPackage();
if (typeof (/** @type {any} */ (api).setArenaReuse) !== "function") {
  console.log("reload: this build has no setArenaReuse; nothing to measure");
  process.exit(0);
}
const { layers, rounds } = benchScale();
const dir = tempDir("reload");
const model = await writeQwen3(api, dir, layers);
const keys = model.keys.set;
// Room for two dropped models: the one before the previous, and (briefly) the previous.
/** @type {any} */ (api).setArenaReuse(3 * model.bytes);

/** @type {unknown[]} */
const held = [null];
const retain = (/** @type {unknown} */ value) => {
  held[0] = value;
};
// Warm the page cache and the reuse pool (the first loads land in fresh memory).
for (const path of [model.encrypted, model.plain, model.encrypted]) {
  retain(await api.loadFile(path, { keys }));
  globalThis.gc?.();
}

const reusesBefore = api.nativeStats().arenaReuses;
const enc = "loadFile encrypted (retained, arena reuse)";
const plain = "loadFile plaintext (retained, arena reuse)";
const ref = "reference Python package (retained, safe_open + get_tensor)";
/** @type {Record<string, () => Promise<unknown>>} */
const variants = {
  [enc]: async () => retain(await api.loadFile(model.encrypted, { keys })),
  [plain]: async () => retain(await api.loadFile(model.plain)),
};
const python = referencePython();
const reference = python ? startReferenceLoader(python, model.encrypted, keys, dir) : null;
if (reference) {
  const first = await reference.load();
  if (first.tensors !== model.count || first.bytes !== model.bytes)
    throw new Error(`the reference loaded ${first.tensors} tensors, ${first.bytes} bytes`);
  variants[ref] = () => reference.load();
}

let stats;
try {
  stats = await interleaved(variants, { rounds });
} finally {
  await reference?.close();
}
retain(null);
const loads = 2 * rounds;
const reuses = api.nativeStats().arenaReuses - reusesBefore;
/** @type {any} */ (api).setArenaReuse(0);

const ratios = {
  "loadFile encrypted / plaintext, arena reuse": bestRatio(stats, enc, plain),
  "reference retained / loadFile encrypted with arena reuse (target >= 2)": reference
    ? bestRatio(stats, ref, enc)
    : null,
  "loads that got recycled memory": `${reuses} / ${loads}`,
};
report("reload", statsRows(stats, model.bytes, { cpu: true }), {
  model: { bytes: model.bytes, tensors: model.count, layers },
  rounds,
  reuses,
  loads,
  reference: reference
    ? "interop venv"
    : "missing: run the interop tests once (npx vitest run test/interop) to make .cache/interop-venv",
  stats,
  ratios,
});
console.table(ratios);
