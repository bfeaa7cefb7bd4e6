// Direct (O_DIRECT) writes of a data section (src/writer/block-writes.ts): batches of any length,
// from a data start anywhere in a block, must land byte for byte where ordinary writes would put
// them — the partial blocks at the two ends through the page cache, the partial block at the end
// of each batch carried into the next — and a buffer the kernel refuses for O_DIRECT (misaligned
// memory) must fall back to ordinary writes of the same bytes.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AtomicFile } from "../../src/io/durable-file.js";
import { allocateArena } from "../../src/native/index.js";
import { BLOCK, BlockWrites } from "../../src/writer/block-writes.js";
import { tempDir } from "./helpers.js";

const dir = tempDir();
let counter = 0;

/** Writes `header` then `data` cut into `batches` through BlockWrites; returns the file's bytes. */
async function writeInBatches(
  header: Uint8Array,
  data: Uint8Array,
  batches: readonly number[],
  misaligned = false,
): Promise<{ bytes: Buffer; direct: boolean }> {
  const path = join(dir, `blocks-${counter++}.bin`);
  const out = await AtomicFile.create(path);
  let direct = false;
  try {
    const blocks = await BlockWrites.open(out, header.length);
    expect(blocks).not.toBeNull();
    if (!blocks) throw new Error("no O_DIRECT here");
    direct = true;
    let done = 0;
    let previous: Uint8Array | null = null;
    for (const [i, length] of batches.entries()) {
      const arena = new Uint8Array(allocateArena(length + 2 * BLOCK));
      const buffer = misaligned ? arena.subarray(1) : arena;
      const lead = blocks.begin(buffer);
      // Once its writes are done and the next batch has begun, a buffer may be refilled: scribbling
      // on it must not change the file.
      previous?.fill(0xee);
      buffer.set(data.subarray(done, done + length), lead);
      await blocks.finish(buffer, header.length + done, lead + length, i === batches.length - 1)();
      previous = buffer;
      done += length;
    }
    await blocks.close();
    await out.write(header, 0);
    await out.commit();
  } catch (error) {
    await out.discard();
    throw error;
  }
  return { bytes: readFileSync(path), direct };
}

describe("direct writes of a data section", () => {
  const data = new Uint8Array(randomBytes(200_000));
  const cuts: Array<[string, number[]]> = [
    ["one batch", [data.length]],
    ["batches smaller than a block", [1, 7, 100, 4000, data.length - 4108]],
    [
      "block-sized and odd batches",
      [BLOCK, BLOCK + 1, 3 * BLOCK - 1, 50_000, data.length - 70_480],
    ],
  ];
  for (const start of [8, 24, BLOCK - 8, BLOCK, 3 * BLOCK + 40]) {
    it.each(cuts)(`data from byte ${start}, %s: byte for byte`, async (_label, batches) => {
      const header = new Uint8Array(randomBytes(start));
      const { bytes } = await writeInBatches(header, data, batches);
      expect(bytes.length).toBe(start + data.length);
      expect(bytes.equals(Buffer.concat([header, data]))).toBe(true);
    });
  }

  it("memory O_DIRECT refuses (misaligned) falls back to ordinary writes of the same bytes", async () => {
    const header = new Uint8Array(randomBytes(1000));
    const { bytes } = await writeInBatches(header, data, [70_000, 5, data.length - 70_005], true);
    expect(bytes.equals(Buffer.concat([header, data]))).toBe(true);
  });
});
