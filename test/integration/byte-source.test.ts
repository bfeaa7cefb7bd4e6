// A source that is not a local file (here: memory) opens, verifies, loads and slices exactly like
// the file it holds, on both backends; the handle closes the source; a signal cancels its reads.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeySet, loadFile, openFile, saveFile, verifyFile } from "../../src/index.js";
import { expectCode } from "../support/expect-code.js";
import { memorySource } from "../support/memory-source.js";
import { randomTensor, tempDir } from "./helpers.js";

const dir = tempDir("ct-source-");
const set = generateKeySet({ alg: "aes256gcm" });
const tensors = { a: randomTensor(5000), b: randomTensor(300_000), empty: randomTensor(0) };

describe.each(["native", "fallback"] as const)("a memory source on the %s backend", (backend) => {
  it("loads, slices and verifies like the file it holds, and is closed with the handle", async () => {
    for (const version of ["1", "2"] as const) {
      const path = join(dir, `${backend}-${version}.ct`);
      await saveFile(path, tensors, {
        backend,
        encryption: {
          encKey: set.keys[0],
          signKey: set.keys[1],
          version,
          ...(version === "2" ? { chunkSize: 4096 } : {}),
        },
      });
      const bytes = readFileSync(path);
      const fromFile = await loadFile(path, { keys: set, backend });
      const source = memorySource(bytes);
      const fromSource = await loadFile(source, { keys: set, backend });
      expect(source.closed).toBe(true);
      expect(source.reads).toBeGreaterThan(0);
      for (const name of Object.keys(tensors))
        expect(Buffer.from(fromSource[name]!.data)).toEqual(Buffer.from(fromFile[name]!.data));

      const file = await openFile(memorySource(bytes), { keys: set, backend });
      const slice = new Uint8Array(1000);
      await file.readRange("b", 70_000, 71_000, slice);
      expect(Buffer.from(slice)).toEqual(Buffer.from(tensors.b.data.subarray(70_000, 71_000)));
      await file.close();
      expect(await verifyFile(memorySource(bytes), { keys: set, backend })).toMatchObject({
        signatureValid: true,
      });
    }
  });

  it("names the source in errors and stops on an aborted signal", async () => {
    const path = join(dir, `${backend}-abort.ct`);
    await saveFile(path, tensors, {
      backend,
      encryption: { encKey: set.keys[0], signKey: set.keys[1] },
    });
    const bytes = readFileSync(path);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1]! ^= 1;
    const error = await expectCode(
      loadFile(memorySource(tampered, "memory://tampered"), { keys: set, backend }),
      "ERR_DECRYPTION_FAILED",
    );
    expect(error.message).not.toContain(dir);
    const controller = new AbortController();
    const file = await openFile(memorySource(bytes, "memory://slow", 5), { keys: set, backend });
    const loading = file.readAll({ signal: controller.signal });
    controller.abort();
    await expectCode(loading, "ERR_ABORTED");
    await file.close();
  });
});
