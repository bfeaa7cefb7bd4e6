// Open latency of an encrypted file with ~300 tensors (the Qwen3-0.6B layout, scaled down to
// tiny shapes so only the header matters): read + parse the header, verify the Ed25519 signature,
// evaluate the policy and unwrap every data key. Baseline: opening the plaintext twin.
import { join } from "node:path";
import { benchKeys, fillPattern, loadPackage, report, tempDir, timeIt } from "../lib/common.mjs";
import { qwen3Shapes } from "../lib/fixtures.mjs";

const api = await loadPackage();
const dir = tempDir("open");
/** @type {Record<string, import("../../dist/index.js").TensorInput>} */
const tensors = {};
for (const [name] of qwen3Shapes())
  tensors[name] = { dtype: "F16", shape: [8], data: fillPattern(new Uint8Array(16)) };
const keys = benchKeys(api);
const encrypted = join(dir, "open-encrypted.safetensors");
const plain = join(dir, "open-plain.safetensors");
await api.saveFile(encrypted, tensors, { encryption: keys.encryption });
await api.saveFile(plain, tensors);

async function openClose(path, options) {
  const file = await api.openFile(path, options);
  await file.close();
}
const tEnc = await timeIt("open encrypted", () => openClose(encrypted, { keys: keys.set }), {
  iterations: 40,
  warmup: 5,
});
const tPlain = await timeIt("open plain", () => openClose(plain, {}), {
  iterations: 40,
  warmup: 5,
});
const count = Object.keys(tensors).length;
const rows = [
  {
    what: `open + close, encrypted (${count} tensors: verify, policy, ${count} DEK unwraps)`,
    "median ms": +tEnc.median.toFixed(2),
    "min ms": +tEnc.min.toFixed(2),
  },
  {
    what: `open + close, plaintext (${count} tensors)`,
    "median ms": +tPlain.median.toFixed(2),
    "min ms": +tPlain.min.toFixed(2),
  },
];
const ratios = {
  "encrypted open median ms (target <= 10)": +tEnc.median.toFixed(2),
  tensors: count,
};
report("open-latency", rows, { ratios });
console.table(ratios);
