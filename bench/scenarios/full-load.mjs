// Full load of a Qwen3-0.6B-shaped model (F16, ~1.2 GB, 311 tensors), page cache warm:
// loadFile (fresh buffers) of the encrypted file vs the same call on the plaintext file;
// readAll into one warm caller arena, encrypted vs plaintext; and the reference Python package
// (safe_open + get_tensor of every tensor, timed inside its own process) on the same encrypted file.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gbps, loadPackage, report, ROOT, tempDir, timeIt } from "../lib/common.mjs";
import { writeQwen3 } from "../lib/fixtures.mjs";

const api = await loadPackage();
const dir = tempDir("load");
const model = await writeQwen3(api, dir);
const keys = model.keys.set;
// Warm the page cache for both files (and check the load is right once).
const check = await api.loadFile(model.encrypted, { keys });
if (Object.keys(check).length !== model.count) throw new Error("wrong tensor count");
await api.loadFile(model.plain);

async function loadFresh(path) {
  const t = await timeIt(
    `loadFile ${path}`,
    async () => {
      await api.loadFile(path, { keys });
    },
    { iterations: 6 },
  );
  return t.min;
}

async function loadWarm(path) {
  const file = await api.openFile(path, { keys });
  try {
    const arena = new Uint8Array(file.readAllByteLength()).fill(1);
    const t = await timeIt(
      `readAll ${path}`,
      async () => {
        await file.readAll({ into: arena });
      },
      { iterations: 10 },
    );
    return t.min;
  } finally {
    await file.close();
  }
}

const ms = {
  loadFileEncrypted: await loadFresh(model.encrypted),
  loadFilePlain: await loadFresh(model.plain),
  readAllWarmEncrypted: await loadWarm(model.encrypted),
  readAllWarmPlain: await loadWarm(model.plain),
};

// The reference package, in its own venv (created by the interop tests).
const python = join(
  ROOT,
  process.env.CRYPTOTENSORS_INTEROP_VENV ?? ".cache/interop-venv",
  "bin",
  "python",
);
let reference = null;
if (existsSync(python)) {
  const keysPath = join(dir, "keys.json");
  writeFileSync(keysPath, JSON.stringify(model.keys.set));
  const run = spawnSync(
    python,
    [join(ROOT, "bench", "py", "ref_load.py"), model.encrypted, keysPath, "3"],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  if (run.status === 0) {
    const out = JSON.parse(run.stdout);
    const sorted = [...out.seconds].sort((a, b) => a - b);
    reference = {
      ms: sorted[Math.floor(sorted.length / 2)] * 1000,
      tensors: out.tensors,
      bytes: out.bytes,
    };
  } else {
    reference = { error: run.stderr.slice(-2000) };
  }
}

const rows = [
  {
    what: "loadFile, encrypted (fresh buffers)",
    ms: +ms.loadFileEncrypted.toFixed(1),
    "GB/s": gbps(model.bytes, ms.loadFileEncrypted),
  },
  {
    what: "loadFile, plaintext (fresh buffers)",
    ms: +ms.loadFilePlain.toFixed(1),
    "GB/s": gbps(model.bytes, ms.loadFilePlain),
  },
  {
    what: "readAll into a warm arena, encrypted",
    ms: +ms.readAllWarmEncrypted.toFixed(1),
    "GB/s": gbps(model.bytes, ms.readAllWarmEncrypted),
  },
  {
    what: "readAll into a warm arena, plaintext",
    ms: +ms.readAllWarmPlain.toFixed(1),
    "GB/s": gbps(model.bytes, ms.readAllWarmPlain),
  },
];
if (reference?.ms)
  rows.push({
    what: "reference Python package, encrypted (safe_open + get_tensor)",
    ms: +reference.ms.toFixed(1),
    "GB/s": gbps(model.bytes, reference.ms),
  });
const ratios = {
  "loadFile encrypted / plaintext (target <= 1.10)": +(
    ms.loadFileEncrypted / ms.loadFilePlain
  ).toFixed(3),
  "readAll warm encrypted / plaintext (target <= 1.15)": +(
    ms.readAllWarmEncrypted / ms.readAllWarmPlain
  ).toFixed(3),
  "reference Python / loadFile encrypted (target >= 3)": reference?.ms
    ? +(reference.ms / ms.loadFileEncrypted).toFixed(2)
    : null,
};
report("full-load", rows, {
  model: { bytes: model.bytes, tensors: model.count },
  ms,
  reference,
  ratios,
  native: api.nativeInfo(),
});
console.table(ratios);
