// A file truncated while the addon copies, decrypts or seals out of it must become a status
// (ERR_FILE_TRUNCATED), never a SIGBUS that kills the process: through pread (the default) and
// through the mapping (CRYPTOTENSORS_MMAP=1, every access under the SIGBUS guard; convertFile's
// read and seal always encrypts from a mapping, and vaes-avx2 decrypts v2 chunks out of one,
// under the guard, unless another SIGBUS handler took over). Races truncate(2) against large
// reads, v1 decryptions, v2 read-and-seals and v2 decryptions (into a caller's memory and into a
// private destination) in a child process, so that an escaped signal fails this test instead of
// the runner.
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
  const chunkTags = new Uint8Array((size / (2 << 20)) * 16);
  // v2 chunks of the same bytes, for the chunked decryptions (out of the mapping with vaes-avx2).
  const sealedChunks = new Uint8Array(size);
  const sealedTags = new Uint8Array(chunkTags.length);
  if (await b.seal(1, key, iv, 0, 2 << 20, plain, sealedChunks, sealedTags) !== 0) throw new Error("seal failed");
  const table = new Float64Array([1, 1, 0, size, 2 << 20, 0, 0, 0, 0]);
  dest.fill(1); // warm: the chunks' caller-visible plan keeps its scratch path to the end
  for (let i = 0; i < 45; i++) {
    // Rounds copy (plain read), decrypt a v1 range slice by slice, read and seal v2 chunks, or
    // decrypt v2 chunks into a caller's memory (scratch) or into a private destination.
    const kind = ["read", "decrypt", "seal", "chunks", "private"][i % 5];
    // Once the guard is installed (the first seal maps the file), another handler takes SIGBUS.
    if (process.env.TAKE_SIGBUS === "1" && i === 3) {
      process.on("SIGBUS", () => {});
      outcomes.faultsBefore = b.stats().truncationFaults;
    }
    const chunked = kind === "chunks" || kind === "private";
    writeFileSync(path, kind === "decrypt" ? sealed : chunked ? sealedChunks : plain);
    const handle = await b.openFile(path);
    const reading =
      kind === "decrypt" ? handle.decrypt(1, key, 0, size, 0, 0, iv, tag, dest)
      : kind === "seal" ? handle.readSeal(1, 2 << 20, 0, size, 0, key, iv, dest, chunkTags)
      : chunked ? handle.plan(table, key, iv, sealedTags, [dest], new Float64Array(1), kind === "private")
      : handle.read(0, size, dest);
    // Let the copy start, then cut the file at a page boundary and, every other time, mid-page.
    await new Promise((r) => setTimeout(r, i % 4));
    truncateSync(path, (i % 4 < 2 ? 4096 * 700 + 123 : 4096 * 900));
    const status = await reading;
    outcomes[status] = (outcomes[status] || 0) + 1;
    if (status === 0 && kind !== "seal" && Buffer.compare(Buffer.from(dest), plain) !== 0) outcomes["wrong bytes"] = 1;
    if (status === 0 && kind === "seal") {
      const expected = new Uint8Array(size);
      const expectedTags = new Uint8Array(chunkTags.length);
      await b.seal(1, key, iv, 0, 2 << 20, plain, expected, expectedTags);
      if (Buffer.compare(Buffer.from(dest), Buffer.from(expected)) !== 0 || Buffer.compare(chunkTags, expectedTags) !== 0) outcomes["wrong bytes"] = 1;
    }
    // A read after the truncation reports it too (a short pread; the mapped path's size checks).
    outcomes["after:" + await handle.read(0, size, dest)] = 1;
    dest.fill(1);
    await handle.close();
  }
  console.log(JSON.stringify({ outcomes, faults: b.stats().truncationFaults }));
})();
`;

describe.each([
  ["pread (the default)", "0", "0"],
  ["the mapping (CRYPTOTENSORS_MMAP=1)", "1", "0"],
  ["pread, another SIGBUS handler installed (process.on)", "0", "1"],
])("truncation under a read through %s", (_, mmap, takeSigbus) => {
  // An asynchronous child: a synchronous one blocks the test worker, and on a loaded machine past
  // vitest's 60 s RPC timeout.
  it("reports ERR_FILE_TRUNCATED (status 3) or success, and the process survives", async () => {
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ["-e", CHILD, PACKAGE_ROOT, dir],
      {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, CRYPTOTENSORS_MMAP: mmap, TAKE_SIGBUS: takeSigbus },
      },
    );
    const { outcomes, faults } = JSON.parse(out) as {
      outcomes: Record<string, number>;
      faults: number;
    };
    const { faultsBefore, ...statuses } = outcomes;
    for (const status of Object.keys(statuses)) expect(["0", "3", "after:3"]).toContain(status);
    // Some rounds were cut mid-read: the truncation was seen, not only read past.
    expect(outcomes["3"]).toBeGreaterThan(0);
    // The seals read through the guarded mapping (faults caught), until another handler took
    // SIGBUS: from then on they read with pread (no fault caught after that).
    if (takeSigbus === "1") expect(faults).toBe(faultsBefore);
    else expect(faults).toBeGreaterThan(0);
    expect(outcomes["after:3"]).toBe(1);
  }, 150_000);
});
