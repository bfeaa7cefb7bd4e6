// A slice of 1% of a 256 MiB v2 tensor (rows 0..1% of a [65536, 2048] U16 matrix) against
// decrypting the whole tensor; the native counters show the bytes actually decrypted, which must
// be the chunks the slice overlaps and no more.
import { gbps, loadPackage, report, tempDir, timeIt } from "../lib/common.mjs";
import { benchKeys, fillPattern } from "../lib/common.mjs";
import { join } from "node:path";

const api = await loadPackage();
const dir = tempDir("slice");
const rows = 65536,
  cols = 2048,
  bytes = rows * cols * 2;
const keys = benchKeys(api);
const path = join(dir, "slice.safetensors");
await api.saveFile(
  path,
  { m: { dtype: "U16", shape: [rows, cols], data: fillPattern(new Uint8Array(bytes)) } },
  { encryption: keys.encryption },
);
const file = await api.openFile(path, { keys: keys.set });
const chunkSize = file.encryption().chunkSize;
const stop = Math.ceil(rows / 100);
const sliceBytes = stop * cols * 2;
const whole = new Uint8Array(bytes).fill(1);
const part = new Uint8Array(sliceBytes).fill(1);

const before = api.nativeStats().bytes;
await file.getSlice("m", [[0, stop]], { into: part });
const decrypted = api.nativeStats().bytes - before;
const overlapped = Math.ceil(sliceBytes / chunkSize) * chunkSize;

const tWhole = await timeIt("whole", () => file.getTensor("m", { into: whole }), { iterations: 7 });
const tSlice = await timeIt("slice", () => file.getSlice("m", [[0, stop]], { into: part }), {
  iterations: 30,
});
await file.close();
const table = [
  { what: "whole tensor (256 MiB)", ms: +tWhole.min.toFixed(2), "GB/s": gbps(bytes, tWhole.min) },
  {
    what: `slice rows [0, ${stop}) (1%, ${(sliceBytes / 2 ** 20).toFixed(2)} MiB)`,
    ms: +tSlice.min.toFixed(3),
    "GB/s": gbps(sliceBytes, tSlice.min),
  },
];
const ratios = {
  "whole / slice time": +(tWhole.min / tSlice.min).toFixed(1),
  "bytes decrypted for the slice": decrypted,
  "bytes of the chunks it overlaps": overlapped,
  "decrypts no more than the overlapped chunks": decrypted <= overlapped,
};
report("slice", table, { bytes, sliceBytes, chunkSize, decrypted, overlapped, ratios });
console.table(ratios);
