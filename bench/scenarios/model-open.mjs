// Open latency of a many-shard model (issue 15, "opening shards lazily"): 64 shards of 8 small
// tensors, encrypted and bound. openModel verifies every shard's signed header and policy and the
// set binding, but opens (unwraps the data keys of) only the first shard; the rest open on first
// read. Compared in interleaved rounds, with raw keys and with the PKCS#11 provider on SoftHSM2
// (the token unwraps every data key, one batch per opened shard):
//   openModel + close                          — what a server pays to be ready
//   openModel + one tensor of the last shard   — the first request
//   openModel + readAll                        — every shard opened (lazily, several at once)
//   eager baseline: openFile of every shard, 4 at a time, + close — what openModel did before
// Ratios are to the eager baseline of the same key way and round set. Not part of the test suite.
import { join } from "node:path";
import { benchKeys, fillPattern, loadPackage, report, tempDir, timeIt } from "../lib/common.mjs";
import { SOFTHSM_MODULE, softHsmToken } from "../lib/softhsm.mjs";

const api = await loadPackage();
const dir = tempDir("model-open");
const SHARDS = 64;
const PER_SHARD = 8;
const TENSOR_BYTES = 4096;

/** @type {Record<string, import("../../dist/index.js").TensorInput>} */
const tensors = {};
for (let i = 0; i < SHARDS * PER_SHARD; i++)
  tensors[`model.layers.${i}.weight`] = {
    dtype: "F32",
    shape: [TENSOR_BYTES / 4],
    data: fillPattern(new Uint8Array(TENSOR_BYTES)),
  };
const lastTensor = `model.layers.${SHARDS * PER_SHARD - 1}.weight`;
const keys = benchKeys(api);

/** @type {Record<string, { path: string, options: object }>} */
const ways = {};
ways["raw keys"] = { path: join(dir, "raw"), options: { keys: keys.set } };
await api.saveModel(ways["raw keys"].path, tensors, {
  maxShardSize: TENSOR_BYTES * PER_SHARD,
  encryption: keys.encryption,
});
if (SOFTHSM_MODULE) {
  const uri = softHsmToken(dir, "bench");
  await api.generatePkcs11Keys(uri, { encKid: "hsm-enc", signKid: "hsm-sign" });
  const hsm = new api.Pkcs11KeyProvider(uri);
  ways["PKCS#11 SoftHSM2"] = {
    path: join(dir, "hsm"),
    options: { keyRegistry: new api.KeyProviderRegistry([hsm]) },
  };
  await api.saveModel(ways["PKCS#11 SoftHSM2"].path, tensors, {
    maxShardSize: TENSOR_BYTES * PER_SHARD,
    encryption: {
      encKey: api.HeldKey.master(hsm, { kid: "hsm-enc", alg: "aes256gcm" }),
      signKey: api.HeldKey.signer(hsm, { kid: "hsm-sign" }),
    },
  });
} else console.log("SoftHSM2 not installed: raw keys only");

/** The pre-lazy openModel: every shard opened and unlocked up front, 4 at a time. */
async function eagerOpenClose(path, options) {
  const { shards } = await api.inspectModel(path);
  const files = [];
  let next = 0;
  const worker = async () => {
    while (next < shards.length) {
      const shard = shards[next++];
      files.push(await api.openFile(shard.path, options));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await Promise.all(files.map((file) => file.close()));
}

/** @param {{ path: string, options: object }} way */
const variantsOf = ({ path, options }) => ({
  "openModel + close": async () => (await api.openModel(path, options)).close(),
  "openModel + one tensor of the last shard": async () => {
    const model = await api.openModel(path, options);
    await model.getTensor(lastTensor);
    await model.close();
  },
  "openModel + readAll": async () => {
    const model = await api.openModel(path, options);
    await model.readAll();
    await model.close();
  },
  "eager baseline: openFile every shard + close": () => eagerOpenClose(path, options),
});

const ROUNDS = Number(
  process.env.CRYPTOTENSORS_BENCH_ROUNDS ?? (process.env.CRYPTOTENSORS_BENCH_QUICK === "1" ? 3 : 5),
);
const rows = [];
const ratios = {};
for (const [wayName, way] of Object.entries(ways)) {
  const variants = variantsOf(way);
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated order each round: drift and neighbours on the shared machine hit every variant.
    for (const name of names.map((_, i) => names[(i + round) % names.length])) {
      const t = await timeIt(name, variants[name], { iterations: 3, warmup: round === 0 ? 1 : 0 });
      samples[name].push(t.median);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(samples["eager baseline: openFile every shard + close"]);
  for (const name of names) {
    const m = median(samples[name]);
    const sorted = [...samples[name]].sort((a, b) => a - b);
    rows.push({
      what: `${SHARDS} shards, ${wayName}: ${name}`,
      "best ms": +sorted[0].toFixed(2),
      "median ms": +m.toFixed(2),
      "spread %": +((100 * (sorted.at(-1) - sorted[0])) / m).toFixed(1),
      "x eager": +(m / base).toFixed(2),
    });
    ratios[`${wayName}: ${name} / eager baseline`] = +(m / base).toFixed(2);
  }
}
report("model-open", rows, { ratios, shards: SHARDS, tensorsPerShard: PER_SHARD });
