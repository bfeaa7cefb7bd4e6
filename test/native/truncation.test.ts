// A mapped file truncated while the addon copies or decrypts out of it must become a status
// (ERR_FILE_TRUNCATED), never a SIGBUS that kills the process. Races truncate(2) against large
// reads in a child process, so that an escaped signal fails this test instead of the runner.
import { execFileSync } from "node:child_process";
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
const data = Buffer.alloc(size, 0x5a);
const dest = new Uint8Array(size);
(async () => {
  const outcomes = {};
  for (let i = 0; i < 24; i++) {
    writeFileSync(path, data);
    const handle = await b.openFile(path);
    const reading = handle.read(0, size, dest);
    // Let the copy start, then cut the file at a page boundary and, every other time, mid-page.
    await new Promise((r) => setTimeout(r, i % 4));
    truncateSync(path, (i % 2 ? 4096 * 700 + 123 : 4096 * 900));
    const status = await reading;
    outcomes[status] = (outcomes[status] || 0) + 1;
    // A read after the truncation reports it too, from the mapped path's size checks.
    outcomes["after:" + await handle.read(0, size, dest)] = 1;
    await handle.close();
  }
  console.log(JSON.stringify({ outcomes, faults: b.stats().truncationFaults }));
})();
`;

describe("truncation under a mapped read", () => {
  it("reports ERR_FILE_TRUNCATED (status 3) or success, and the process survives", () => {
    const out = execFileSync(process.execPath, ["-e", CHILD, PACKAGE_ROOT, dir], { encoding: "utf8", timeout: 60_000 });
    const { outcomes } = JSON.parse(out) as { outcomes: Record<string, number>; faults: number };
    for (const status of Object.keys(outcomes)) expect(["0", "3", "after:3"]).toContain(status);
    expect(outcomes["after:3"]).toBe(1);
  });
});
