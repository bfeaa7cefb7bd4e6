// A file truncated while the addon copies or decrypts out of it must become a status
// (ERR_FILE_TRUNCATED), never a SIGBUS that kills the process: through pread (the default) and
// through the mapping (CRYPTOTENSORS_MMAP=1, every access under the SIGBUS guard). Races truncate(2) against large
// reads and v1 decryptions in a child process, so that an escaped signal fails this test instead of the runner.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/native/addon.js";
import { tempDir } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);

const CHILD = `
const { writeFileSync, truncateSync } = require("node:fs");
const b = require("node-gyp-build")(process.argv[1]);
const path = process.argv[2] + "/shrinking.bin";
const size = 48 << 20;
const plain = Buffer.alloc(size, 0x5a);
const key = Buffer.alloc(32, 7);
const iv = Buffer.alloc(12, 1);
const tag = new Uint8Array(16);
const dest = new Uint8Array(b.allocateArena(size));
(async () => {
  // One AEAD over the whole range: the same bytes as a v1 tensor (chunk 0's IV is the base IV).
  const sealed = new Uint8Array(size);
  if (await b.seal(1, key, iv, 0, size, plain, sealed, tag) !== 0) throw new Error("seal failed");
  const outcomes = {};
  for (let i = 0; i < 24; i++) {
    // Even rounds copy (plain read), odd rounds decrypt a v1 range slice by slice.
    const decrypt = i % 2 === 1;
    writeFileSync(path, decrypt ? sealed : plain);
    const handle = await b.openFile(path);
    const reading = decrypt ? handle.decrypt(1, key, 0, size, 0, 0, iv, tag, dest) : handle.read(0, size, dest);
    // Let the copy start, then cut the file at a page boundary and, every other time, mid-page.
    await new Promise((r) => setTimeout(r, i % 4));
    truncateSync(path, (i % 4 < 2 ? 4096 * 700 + 123 : 4096 * 900));
    const status = await reading;
    outcomes[status] = (outcomes[status] || 0) + 1;
    if (status === 0 && Buffer.compare(Buffer.from(dest), plain) !== 0) outcomes["wrong bytes"] = 1;
    // A read after the truncation reports it too (a short pread; the mapped path's size checks).
    outcomes["after:" + await handle.read(0, size, dest)] = 1;
    await handle.close();
  }
  console.log(JSON.stringify({ outcomes, faults: b.stats().truncationFaults }));
})();
`;

describe.each([
  ["pread (the default)", "0"],
  ["the mapping (CRYPTOTENSORS_MMAP=1)", "1"],
])("truncation under a read through %s", (_, mmap) => {
  // An asynchronous child: a synchronous one blocks the test worker, and on a loaded machine past
  // vitest's 60 s RPC timeout.
  it("reports ERR_FILE_TRUNCATED (status 3) or success, and the process survives", async () => {
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ["-e", CHILD, PACKAGE_ROOT, dir],
      { encoding: "utf8", timeout: 120_000, env: { ...process.env, CRYPTOTENSORS_MMAP: mmap } },
    );
    const { outcomes } = JSON.parse(out) as { outcomes: Record<string, number>; faults: number };
    for (const status of Object.keys(outcomes)) expect(["0", "3", "after:3"]).toContain(status);
    expect(outcomes["after:3"]).toBe(1);
  }, 150_000);
});
