// Retained loads of a Qwen3-0.6B-shaped model (F16, ~1.19 GB, 310 tensors; v2 AES-256-GCM,
// 2 MiB chunks), page cache warm, as a server does them: every result is kept alive until the next
// load has finished, so each load lands in fresh memory. Interleaved rounds (rotated order) of:
//   loadFile encrypted · loadFile plaintext · the reference package's retained load (safe_open +
//   get_tensor of every tensor, kept, in its own long-lived process, timed and fault-counted there)
//   · the floor: landing the model's size in fresh memory (a JS fill, one thread; and a memcpy on
//   the addon's threads into an addon arena when the package has allocateArena, else into JS
//   memory) · readAll({ into }) a warm arena, encrypted and plaintext.
// Best, median, spread and minor page faults per load for each. Sizes: bench/lib/common.mjs.
import { gbps, benchScale, loadPackage, report, tempDir } from "../lib/common.mjs";
import { writeQwen3 } from "../lib/fixtures.mjs";
import { bestRatio, interleaved, statsRows } from "../lib/interleave.mjs";
import { referencePython, startReferenceLoader } from "../lib/reference.mjs";

const api = await loadPackage();
const { layers, rounds } = benchScale();
const dir = tempDir("retained");
const model = await writeQwen3(api, dir, layers);
globalThis.gc?.();
const keys = model.keys.set;
/** @type {((byteLength: number) => ArrayBuffer) | undefined} */
const allocateArena = /** @type {any} */ (api).allocateArena;

// Warm the page cache for both files and check the loads once.
for (const path of [model.encrypted, model.plain]) {
  const check = await api.loadFile(path, { keys });
  if (Object.keys(check).length !== model.count) throw new Error(`wrong tensor count in ${path}`);
}

// The previous sample's result stays alive until the current one has finished (retention).
/** @type {unknown[]} */
const held = [null];
const retain = (/** @type {unknown} */ value) => {
  held[0] = value;
};

const encryptedFile = await api.openFile(model.encrypted, { keys });
const plainFile = await api.openFile(model.plain);
const arenaBytes = Math.max(encryptedFile.readAllByteLength(), plainFile.readAllByteLength());
const arena = allocateArena ? allocateArena(arenaBytes) : new ArrayBuffer(arenaBytes);
new Uint8Array(arena).fill(1);

/** @type {Record<string, () => Promise<unknown>>} */
const variants = {
  "loadFile encrypted (retained)": async () =>
    retain(await api.loadFile(model.encrypted, { keys })),
  "loadFile plaintext (retained)": async () => retain(await api.loadFile(model.plain)),
  "floor: fresh JS memory, touched (fill)": async () => retain(new Uint8Array(model.bytes).fill(1)),
  "readAll warm arena, encrypted": () => encryptedFile.readAll({ into: arena }),
  "readAll warm arena, plaintext": () => plainFile.readAll({ into: arena }),
};
// The addon's own way of landing bytes in fresh memory: memcpy on its pool threads from a warm
// 64 MiB window into fresh memory of the kind loadFile gets (an arena when the package has them).
const WINDOW = 64 << 20;
const warmWindow = new Uint8Array(WINDOW).fill(3);
const threads = api.nativeInfo().threads;
variants[
  `floor: memcpy into fresh ${allocateArena ? "arena" : "memory"}, ${threads} addon threads`
] = async () => {
  const fresh = new Uint8Array(
    allocateArena ? allocateArena(model.bytes) : new ArrayBuffer(model.bytes),
  );
  for (let at = 0; at < fresh.length; at += WINDOW) {
    const dst = fresh.subarray(at, Math.min(fresh.length, at + WINDOW));
    if ((await api.binding.copy(warmWindow.subarray(0, dst.length), dst, threads)) !== 0)
      throw new Error("copy failed");
  }
  retain(fresh);
};

const python = referencePython();
const reference = python ? startReferenceLoader(python, model.encrypted, keys, dir) : null;
if (reference) {
  const first = await reference.load(); // warms the reference's imports and checks it agrees
  if (first.tensors !== model.count || first.bytes !== model.bytes)
    throw new Error(`the reference loaded ${first.tensors} tensors, ${first.bytes} bytes`);
  variants["reference Python package (retained, safe_open + get_tensor)"] = () => reference.load();
}

let stats;
try {
  stats = await interleaved(variants, { rounds });
} finally {
  await reference?.close();
  await encryptedFile.close();
  await plainFile.close();
}
retain(null);

const floors = Object.keys(stats).filter((name) => name.startsWith("floor:"));
const floorName = floors.reduce((a, b) => ((stats[a]?.best ?? 0) <= (stats[b]?.best ?? 0) ? a : b));
const enc = "loadFile encrypted (retained)";
const plain = "loadFile plaintext (retained)";
const ref = "reference Python package (retained, safe_open + get_tensor)";
const ratios = {
  "retained loadFile encrypted / plaintext (target <= 1.10)": bestRatio(stats, enc, plain),
  "reference retained / loadFile encrypted retained (target >= 2)": reference
    ? bestRatio(stats, ref, enc)
    : null,
  "readAll warm arena encrypted / plaintext (target <= 1.05)": bestRatio(
    stats,
    "readAll warm arena, encrypted",
    "readAll warm arena, plaintext",
  ),
  "loadFile encrypted / floor (1 = at the floor)": bestRatio(stats, enc, floorName),
  "loadFile plaintext / floor": bestRatio(stats, plain, floorName),
  "minor faults per encrypted load": stats[enc]?.minorFaults ?? null,
  "minor faults per plaintext load": stats[plain]?.minorFaults ?? null,
};
report("retained-load", statsRows(stats, model.bytes), {
  model: { bytes: model.bytes, tensors: model.count, layers },
  rounds,
  floor: {
    name: floorName,
    ms: stats[floorName]?.best,
    "GB/s": gbps(model.bytes, stats[floorName]?.best ?? Number.NaN),
  },
  arena: allocateArena ? "allocateArena" : "ArrayBuffer (the package has no allocateArena)",
  reference: reference
    ? "interop venv"
    : "missing: run the interop tests once (npx vitest run test/interop) to make .cache/interop-venv",
  stats,
  ratios,
  native: api.nativeInfo(),
});
console.table(ratios);
