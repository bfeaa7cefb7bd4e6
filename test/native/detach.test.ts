// Issue 11 finding 3: a destination transferred (structuredClone with a transfer list) while a
// read into it is in flight. The read must fail with the typed ERR_DESTINATION_DETACHED on both
// backends (not resolve with an empty view, not a bare TypeError). What happens to the memory
// (nothing is written into it after the transfer; transfer + GC mid-read) is in owned-memory.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { getBackend } from "../../src/native/index.js";
import { requestFor, tempDir, writeEncrypted } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const LENGTH = 16 << 20;
const f = writeEncrypted(dir, "detach.bin", "aes256gcm", LENGTH, 1 << 20);

describe("a destination transferred while a read is in flight (issue 11 finding 3)", () => {
  for (const name of ["native", "fallback"] as const) {
    for (const kind of ["readInto", "decryptInto", "runPlan"] as const) {
      it(`${name} ${kind}: ERR_DESTINATION_DETACHED`, async () => {
        const file = await getBackend(name).open(f.path);
        try {
          const buffer = new ArrayBuffer(LENGTH);
          const dest = new Uint8Array(buffer);
          const request = requestFor(f, "aes256gcm", 1 << 20);
          const reading =
            kind === "readInto"
              ? file.readInto(f.dataStart, LENGTH, dest)
              : kind === "decryptInto"
                ? file.decryptInto(request, dest)
                : file.runPlan([{ kind: "decrypt", request, dest, label: "w" }]);
          const moved = structuredClone(buffer, { transfer: [buffer] });
          expect(buffer.byteLength).toBe(0);
          await expect(reading).rejects.toMatchObject({ code: "ERR_DESTINATION_DETACHED" });
          expect(moved.byteLength).toBe(LENGTH);
        } finally {
          await file.close();
        }
      });
    }
  }
});
