// readSealInto (convertFile's read and seal in one pass, native/plan.cc PlanEntry::seal): the same
// ciphertext and tags as reading the range and sealing it with the node:crypto backend, on every
// algorithm and AES engine, for ranges that cross the landing pieces (plan.cc kLandPiece), end mid-chunk and
// come several to a job; and the checks that keep it to arena memory inside the file.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { coveredChunks } from "../../src/crypto/chunks.js";
import {
  allocateArena,
  getBackend,
  nativeInfo,
  setAesEngine,
  type AesEngineName,
} from "../../src/native/index.js";
import type { AeadAlgorithm, ReadSealJob, SealJob } from "../../src/native/backend.js";
import { ALGORITHMS, KEY_BYTES, tempDir, writeTemp } from "./helpers.js";

const { dir, cleanup } = tempDir();
const native = getBackend("native");
const fallback = getBackend("fallback");
const data = randomBytes(3 * 1024 * 1024 + 77);
const path = writeTemp(dir, "plain.bin", data);
const engines: AesEngineName[] = nativeInfo().aesGcmEngines;
afterAll(() => {
  setAesEngine(engines[0] as AesEngineName);
  cleanup();
});

/** Ranges of one job: [fileOffset, length, firstChunk]. */
const SHAPES: Array<[number, number, number]> = [
  [0, 1, 0], // one byte
  [13, 300_001, 0], // odd offset, short last chunk
  [131_072 - 5, 2 * 1024 * 1024 + 9, 3], // crosses pieces, later chunks
  [1_000_003, 1024 * 1024, 7], // whole chunks of 1 MiB
];
/** A chunk size that is not a multiple of the AES block, and the default's half. */
const CHUNK_SIZES = [100_001, 1024 * 1024];

function jobs(algorithm: AeadAlgorithm, arena: Uint8Array, chunkSize: number): ReadSealJob[] {
  let at = 0;
  return SHAPES.map(([fileOffset, length, firstChunk]) => {
    const dest = arena.subarray(at, at + length);
    at += length;
    return {
      algorithm,
      key: randomBytes(KEY_BYTES[algorithm]),
      baseIv: randomBytes(12),
      firstChunk,
      chunkSize,
      fileOffset,
      length,
      dest,
      tags: new Uint8Array(coveredChunks(length, chunkSize) * 16),
    };
  });
}

const total = SHAPES.reduce((sum, [, length]) => sum + length, 0);

describe.each(engines)("readSealInto, AES engine %s", (engine) => {
  it.each(ALGORITHMS.flatMap((algorithm) => CHUNK_SIZES.map((size) => [algorithm, size] as const)))(
    "%s, chunks of %i: the bytes and tags of a read then a seal",
    async (algorithm, chunkSize) => {
      setAesEngine(engine);
      const file = await native.open(path);
      try {
        expect(typeof file.readSealInto).toBe("function");
        const arena = new Uint8Array(allocateArena(total));
        const fused = jobs(algorithm, arena, chunkSize);
        await file.readSealInto?.(fused);
        for (const job of fused) {
          const plain = data.subarray(job.fileOffset, job.fileOffset + job.length);
          const reference: SealJob = {
            algorithm,
            key: job.key,
            baseIv: job.baseIv,
            firstChunk: job.firstChunk,
            chunkSize: job.chunkSize,
            plaintext: plain,
            ciphertext: new Uint8Array(job.length),
            tags: new Uint8Array(job.tags.length),
          };
          await fallback.seal(reference);
          expect(Buffer.from(job.dest).equals(reference.ciphertext)).toBe(true);
          expect(Buffer.from(job.tags).equals(reference.tags)).toBe(true);
        }
      } finally {
        await file.close();
      }
    },
  );
});

describe("readSealInto refuses", () => {
  it("a range past the end, a destination outside addon memory, mixed chunk sizes", async () => {
    const file = await native.open(path);
    try {
      const arena = new Uint8Array(allocateArena(total));
      const [job] = jobs("aes256gcm", arena, 4096) as [ReadSealJob];
      const past = {
        ...job,
        fileOffset: data.length - 10,
        length: 11,
        dest: arena.subarray(0, 11),
      };
      await expect(file.readSealInto?.([past])).rejects.toThrow(/past the end/);
      const heap = { ...job, dest: new Uint8Array(job.length) };
      await expect(file.readSealInto?.([heap])).rejects.toThrow(TypeError);
      const other = jobs("aes256gcm", arena, 1024 * 1024);
      const mixed = [other[1], { ...(other[2] as ReadSealJob), chunkSize: 4096 }] as ReadSealJob[];
      // Recomputed tags room for the changed chunk size: only the mixed sizes are wrong.
      (mixed[1] as ReadSealJob).tags = new Uint8Array(
        coveredChunks((mixed[1] as ReadSealJob).length, 4096) * 16,
      );
      await expect(file.readSealInto?.(mixed)).rejects.toThrow(/share an algorithm and chunk size/);
      // Nothing was written: the arena is still zero.
      expect(arena.every((b) => b === 0)).toBe(true);
    } finally {
      await file.close();
    }
  });
});
