// Key managers (issue 17): open latency of a 310-tensor model (the Qwen3-0.6B layout, tiny
// shapes so only the keys matter) with raw keys (options.keys), through a JWK-set provider in the
// registry, through the PKCS#11 provider on SoftHSM2 (every data key unwrapped by the token,
// one batch per open) and through the KMIP provider on a PyKMIP server on loopback (one KMIP
// request per open); the same with 1,000 tensors; and the throughput of reencryptFile against
// encrypting the plaintext twin (the two halves of its work: decrypt + encrypt). Measurements are
// interleaved A, B, C, A, B, C… in rounds, so load on the shared machine hits all alike.
import { statSync } from "node:fs";
import { join } from "node:path";
import {
  benchKeys,
  fillPattern,
  gbps,
  loadPackage,
  report,
  tempDir,
  timeIt,
} from "../lib/common.mjs";
import { qwen3Shapes } from "../lib/fixtures.mjs";
import { startPyKmip } from "../lib/pykmip.mjs";
import { softHsmToken } from "../lib/softhsm.mjs";

const api = await loadPackage();
const dir = tempDir("keyprov");
const uri = softHsmToken(dir, "bench");
await api.generatePkcs11Keys(uri, { encKid: "hsm-enc", signKid: "hsm-sign" });
const hsm = new api.Pkcs11KeyProvider(uri);
const keys = benchKeys(api);
const kmipServer = await startPyKmip(dir);
const kms = new api.KmipKeyProvider(kmipServer.uri, { timeoutMs: 120_000 });
await kms.createMasterKey("kmip-enc");

/** @param {string[]} names */
function tinyModel(names) {
  /** @type {Record<string, import("../../dist/index.js").TensorInput>} */
  const tensors = {};
  for (const name of names)
    tensors[name] = { dtype: "F16", shape: [8], data: fillPattern(new Uint8Array(16)) };
  return tensors;
}
const models = {
  310: tinyModel(qwen3Shapes().map(([name]) => name)),
  1000: tinyModel(Array.from({ length: 1000 }, (_, i) => `t.${i}`)),
};
const held = {
  encKey: api.HeldKey.master(hsm, { kid: "hsm-enc", alg: "aes256gcm" }),
  signKey: api.HeldKey.signer(hsm, { kid: "hsm-sign" }),
};
const paths = {};
for (const count of Object.keys(models)) {
  paths[`raw-${count}`] = join(dir, `raw-${count}.ct`);
  paths[`hsm-${count}`] = join(dir, `hsm-${count}.ct`);
  await api.saveFile(paths[`raw-${count}`], models[count], { encryption: keys.encryption });
  await api.saveFile(paths[`hsm-${count}`], models[count], { encryption: held });
  if (count !== "310") continue;
  paths[`kmip-${count}`] = join(dir, `kmip-${count}.ct`);
  await api.saveFile(paths[`kmip-${count}`], models[count], {
    encryption: {
      encKey: api.HeldKey.master(kms, { kid: "kmip-enc", alg: "aes256gcm" }),
      signKey: keys.encryption.signKey,
    },
  });
}
const registry = (provider) => new api.KeyProviderRegistry([provider]);
/** @type {Record<string, (count: number) => [string, object]>} */
const ways = {
  "raw keys (options.keys)": (count) => [paths[`raw-${count}`], { keys: keys.set }],
  "JWK-set provider (registry)": (count) => [
    paths[`raw-${count}`],
    { keyRegistry: registry(new api.DirectKeyProvider(keys.set, "jwks", 50)) },
  ],
  "PKCS#11 SoftHSM2 (token unwraps)": (count) => [
    paths[`hsm-${count}`],
    { keyRegistry: registry(hsm) },
  ],
  "KMIP PyKMIP (server unwraps, mutual TLS)": (count) => [
    paths[`kmip-${count}`],
    { keys: [keys.set.keys[1]], keyRegistry: registry(kms) },
  ],
};

async function openClose([path, options]) {
  const file = await api.openFile(path, options);
  await file.close();
}

/** Interleaved rounds of tinybench samples; best, median of round medians, spread, page faults. */
async function interleaved(tasks, { rounds, iterations }) {
  const samples = Object.fromEntries(
    Object.keys(tasks).map((k) => [k, { mins: [], medians: [], faults: 0, ops: 0 }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(tasks)) {
      const before = process.resourceUsage().minorPageFault;
      const t = await timeIt(name, fn, { iterations, warmup: round === 0 ? 2 : 0 });
      const s = samples[name];
      s.faults += process.resourceUsage().minorPageFault - before;
      s.ops += iterations + (round === 0 ? 2 : 0);
      s.mins.push(t.min);
      s.medians.push(t.median);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, s]) => {
      const sorted = [...s.medians].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      return [
        name,
        {
          best: Math.min(...s.mins),
          median,
          spread: (sorted.at(-1) - sorted[0]) / median,
          faultsPerOp: s.faults / s.ops,
        },
      ];
    }),
  );
}

const rows = [];
const ratios = {};
for (const count of [310, 1000]) {
  // PyKMIP handles ~3 ms per batch item (Python, a database lookup each): KMIP at 310 tensors only.
  /** @type {Record<string, () => Promise<void>>} */
  const tasks = {};
  for (const [name, way] of Object.entries(ways))
    if (count === 310 || !name.startsWith("KMIP")) tasks[name] = () => openClose(way(count));
  const result = await interleaved(tasks, { rounds: 6, iterations: 5 });
  const base = result["raw keys (options.keys)"].median;
  for (const [name, r] of Object.entries(result)) {
    rows.push({
      what: `open + close, ${count} tensors, ${name}`,
      "best ms": +r.best.toFixed(2),
      "median ms": +r.median.toFixed(2),
      "spread %": +(100 * r.spread).toFixed(1),
      "minor faults/op": Math.round(r.faultsPerOp),
      "x raw keys": +(r.median / base).toFixed(2),
    });
    ratios[`${count} tensors: ${name} median ms`] = +r.median.toFixed(2);
    ratios[`${count} tensors: ${name} / raw keys`] = +(r.median / base).toFixed(2);
  }
}

// Re-encryption throughput: one 64 MiB v2 tensor file, re-encrypted to a new file, against
// encrypting its plaintext twin with the same writer (B) — A does B's work plus the decryption.
const bytes = 64 * 2 ** 20;
/** @type {Record<string, import("../../dist/index.js").TensorInput>} */
const big = { weight: { dtype: "U8", shape: [bytes], data: fillPattern(new Uint8Array(bytes)) } };
const sealed = join(dir, "big.ct");
const plain = join(dir, "big.safetensors");
await api.saveFile(sealed, big, { encryption: keys.encryption });
await api.saveFile(plain, big);
const fresh = benchKeys(api);
const reenc = await interleaved(
  {
    "reencryptFile (decrypt + encrypt, fresh keys)": () =>
      api.reencryptFile(sealed, {
        oldKeys: keys.set,
        newEncKey: fresh.set.keys[0],
        output: join(dir, "re.ct"),
      }),
    "convertFile plain -> encrypted (baseline)": () =>
      api.convertFile(plain, join(dir, "enc.ct"), { encryption: keys.encryption }),
  },
  { rounds: 4, iterations: 2 },
);
const fileBytes = statSync(sealed).size;
for (const [name, r] of Object.entries(reenc)) {
  rows.push({
    what: `${name}, 64 MiB`,
    "best ms": +r.best.toFixed(1),
    "median ms": +r.median.toFixed(1),
    "spread %": +(100 * r.spread).toFixed(1),
    "minor faults/op": Math.round(r.faultsPerOp),
    "GB/s (best)": gbps(fileBytes, r.best),
  });
}
ratios["reencrypt GB/s (best)"] = gbps(
  fileBytes,
  reenc["reencryptFile (decrypt + encrypt, fresh keys)"].best,
);
ratios["reencrypt / encrypt-only time (median)"] = +(
  reenc["reencryptFile (decrypt + encrypt, fresh keys)"].median /
  reenc["convertFile plain -> encrypted (baseline)"].median
).toFixed(2);
hsm.close();
kmipServer.stop();
report("key-providers", rows, { ratios });
console.table(ratios);
