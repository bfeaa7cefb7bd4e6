// Retained loads of a Qwen3-0.6B-shaped model (F16, ~1.19 GB, 310 tensors; v2 AES-256-GCM,
// 2 MiB chunks), page cache warm, as a server does them: every result is kept alive until the next
// load has finished, so each load lands in fresh memory. Interleaved rounds (rotated order) of:
//   loadFile encrypted · loadFile plaintext · the reference package's retained load (safe_open +
//   get_tensor of every tensor, kept, in its own long-lived process, timed and fault-counted there)
//   · the floors (bench/lib/floors.mjs): landing the model's size in fresh memory (a JS fill, one
//   thread; a memcpy on the addon's threads into an arena), the AEAD alone over the model's bytes,
//   the kernel's fault-in of fresh memory, and, to show what is reachable, the AEAD fused into a
//   landing pass (seal streaming) · landing the plaintext file's bytes alone, by pread and through
//   a mapping, into fresh and warm memory (fileFloorVariants) · readAll({ into }) a warm arena,
//   encrypted and plaintext, with the warm floors.
// Best, median, spread, CPU time and minor page faults per load for each; the lower bounds of the
// encrypted loads and the ratios they allow, physical (loadBounds) and for the designs that keep
// the single fetch and a bounded resident set (designBounds; bench/lib/bounds.mjs). Sizes: bench/lib/common.mjs.
import { designBounds, loadBounds } from "../lib/bounds.mjs";
import { gbps, benchScale, loadPackage, report, tempDir } from "../lib/common.mjs";
import { fileFloorVariants, floorVariants } from "../lib/floors.mjs";
import { writeQwen3 } from "../lib/fixtures.mjs";
import { bestRatio, interleaved, statsRows } from "../lib/interleave.mjs";
import { referencePython, startReferenceLoader } from "../lib/reference.mjs";

const api = await loadPackage();
const { layers, rounds } = benchScale({ fullRounds: 12 });
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
// The addon's floors on its pool threads (an older package without them: none of them).
const floors =
  allocateArena && typeof api.binding.aeadInCache === "function"
    ? floorVariants(api, model.bytes, { warmArena: new Uint8Array(arena), retain })
    : null;
if (floors) Object.assign(variants, floors.variants);
// Landing the plaintext file's bytes with nothing else, by pread and through a mapping.
const fileFloors =
  floors && typeof api.binding.openFile === "function"
    ? await fileFloorVariants(api, {
        path: model.plain,
        bytes: model.bytes,
        warmArena: new Uint8Array(arena),
        retain,
        sealed: true,
      })
    : null;
if (fileFloors) Object.assign(variants, fileFloors.variants);

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
  await fileFloors?.close();
}
retain(null);

// The landing floor: the faster way of touching fresh memory of the model's size.
const landing = ["floor: fresh JS memory, touched (fill)", floors?.names.memcpyFresh].filter(
  (name) => name !== undefined && stats[name],
);
const floorName = landing.reduce((a, b) => (stats[a].best <= stats[b].best ? a : b));
const enc = "loadFile encrypted (retained)";
const plain = "loadFile plaintext (retained)";
const ref = "reference Python package (retained, safe_open + get_tensor)";
const bounds = floors
  ? loadBounds(stats, floors.names, {
      cores: floors.cores,
      plainFresh: plain,
      plainWarm: "readAll warm arena, plaintext",
      reference: reference ? ref : undefined,
    })
  : null;
// What the designs that keep the single fetch and a bounded resident set can reach here.
const designs =
  floors && fileFloors
    ? designBounds(
        stats,
        { ...fileFloors.names, ...floors.names },
        {
          cores: floors.cores,
          plainFresh: plain,
          plainWarm: "readAll warm arena, plaintext",
          reference: reference ? ref : undefined,
        },
      )
    : null;
const loaderEngine = fileFloors?.names.engineMappedFresh ?? fileFloors?.names.enginePreadFresh;
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
  // The loader's own engine with nothing else (one sealed stream, one plan entry): how far the
  // encrypted load sits above its engine (the AEAD out of the mapping where the engine reads each
  // byte once, else landing first), and the engine above the plaintext landing.
  "loadFile encrypted / engine (the loader's design)": loaderEngine
    ? bestRatio(stats, enc, loaderEngine)
    : null,
  "engine (pread then AEAD) / pread floor, fresh": fileFloors?.names.enginePreadFresh
    ? bestRatio(stats, fileFloors.names.enginePreadFresh, fileFloors.names.preadFresh)
    : null,
  "engine (AEAD out of the mapping) / pread floor, fresh": fileFloors?.names.engineMappedFresh
    ? bestRatio(stats, fileFloors.names.engineMappedFresh, fileFloors.names.preadFresh)
    : null,
  "engine (pread then AEAD) / pread floor, warm": fileFloors?.names.enginePreadWarm
    ? bestRatio(stats, fileFloors.names.enginePreadWarm, fileFloors.names.preadWarm)
    : null,
  "minor faults per encrypted load": stats[enc]?.minorFaults ?? null,
  "minor faults per plaintext load": stats[plain]?.minorFaults ?? null,
};
report("retained-load", statsRows(stats, model.bytes, { cpu: true }), {
  model: { bytes: model.bytes, tensors: model.count, layers },
  rounds,
  floor: {
    name: floorName,
    ms: stats[floorName]?.best,
    "GB/s": gbps(model.bytes, stats[floorName]?.best ?? Number.NaN),
  },
  bounds,
  designs,
  floorNames: floors?.names ?? null,
  fileFloorNames: fileFloors?.names ?? null,
  arena: allocateArena ? "allocateArena" : "ArrayBuffer (the package has no allocateArena)",
  reference: reference
    ? "interop venv"
    : "missing: run the interop tests once (npx vitest run test/interop) to make .cache/interop-venv",
  stats,
  ratios,
  native: api.nativeInfo(),
});
console.table(ratios);
if (bounds) console.log("bounds", JSON.stringify(bounds, null, 2));
if (designs) console.log("design bounds", JSON.stringify(designs, null, 2));
