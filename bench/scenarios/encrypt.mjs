// Encryption throughput: saveFile of a 512 MiB tensor encrypted (v2 AES-256-GCM, chunks sealed in
// parallel by the addon, writes overlapped) vs the same saveFile in plaintext (the write
// bandwidth); and the addon's in-memory sealing vs node:crypto createCipheriv per chunk.
import { createCipheriv } from "node:crypto";
import { join } from "node:path";
import { rmSync } from "node:fs";
import {
  benchKeys,
  fillPattern,
  gbps,
  loadPackage,
  report,
  tempDir,
  timeIt,
} from "../lib/common.mjs";

const api = await loadPackage();
const dir = tempDir("encrypt");
const BYTES = 512 << 20,
  CHUNK = 2 << 20;
const data = fillPattern(new Uint8Array(BYTES));
const keys = benchKeys(api);
/** @type {Record<string, import("../../dist/index.js").TensorInput>} */
const tensors = { w: { dtype: "U8", shape: [BYTES], data } };
const out = join(dir, "out.safetensors");

const tEnc = await timeIt(
  "saveFile encrypted",
  async () => {
    await api.saveFile(out, tensors, { encryption: keys.encryption });
    rmSync(out);
  },
  { iterations: 3 },
);
const tPlain = await timeIt(
  "saveFile plain",
  async () => {
    await api.saveFile(out, tensors);
    rmSync(out);
  },
  { iterations: 3 },
);

const key = Buffer.alloc(32, 7),
  baseIv = Buffer.alloc(12, 1);
const dst = new Uint8Array(BYTES).fill(0),
  tags = new Uint8Array((BYTES / CHUNK) * 16);
/** @type {import("../../dist/index.js").AesEngineName[]} */
const engines = api.nativeInfo().ipsecMbUsable ? ["ipsec-mb", "openssl"] : ["openssl"];
const seal = {};
for (const engine of engines) {
  api.setAesEngine(engine);
  const t = await timeIt(
    `seal ${engine}`,
    async () => {
      if ((await api.binding.seal(1, key, baseIv, 0, CHUNK, data, dst, tags)) !== 0)
        throw new Error("seal failed");
    },
    { iterations: 5 },
  );
  seal[engine] = gbps(BYTES, t.min);
}
const tNode = await timeIt(
  "node:crypto per chunk",
  () => {
    for (let i = 0; i < BYTES / CHUNK; i++) {
      const iv = Buffer.from(baseIv);
      iv.writeUInt32BE(iv.readUInt32BE(8) + i, 8);
      const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
      dst.set(c.update(data.subarray(i * CHUNK, (i + 1) * CHUNK)), i * CHUNK);
      c.final();
    }
  },
  { iterations: 3 },
);
const rows = [
  { what: "saveFile, encrypted (512 MiB)", "GB/s": gbps(BYTES, tEnc.min) },
  { what: "saveFile, plaintext (512 MiB): write bandwidth", "GB/s": gbps(BYTES, tPlain.min) },
  ...Object.entries(seal).map(([engine, v]) => ({
    what: `addon seal in memory, ${engine}`,
    "GB/s": v,
  })),
  { what: "node:crypto createCipheriv per chunk, 1 thread", "GB/s": gbps(BYTES, tNode.min) },
];
const ratios = {
  "saveFile encrypted / plaintext time": +(tEnc.min / tPlain.min).toFixed(3),
  "addon seal (fast engine) / node:crypto per chunk": +(
    seal[engines[0]] / gbps(BYTES, tNode.min)
  ).toFixed(2),
};
report("encrypt", rows, { ratios });
console.table(ratios);
