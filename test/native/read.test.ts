// readInto, close and argument checks on both backends.
import { randomBytes } from "node:crypto";
import { truncateSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { backendName, getBackend, nativeStats } from "../../src/native/index.js";
import type { DecryptRequest } from "../../src/native/backend.js";
import { tempDir, writeTemp } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const data = randomBytes(256 * 1024 + 3);
const path = writeTemp(dir, "data.bin", data);

function isCode(code: string) {
  return (e: unknown) => e instanceof CryptoTensorsError && e.code === code;
}

describe.each(["native", "fallback"] as const)("%s backend", (name) => {
  const backend = getBackend(name);

  it("reports its name and the file size", async () => {
    expect(backend.name).toBe(name);
    const file = await backend.open(path);
    expect(file.size).toBe(data.length);
    await file.close();
  });

  it("reads byte ranges into the caller's buffer, up to and including EOF", async () => {
    const file = await backend.open(path);
    for (const [offset, length] of [
      [0, 8],
      [17, 1000],
      [data.length - 5, 5],
      [data.length, 0],
      [0, data.length],
      [123, 0],
    ]) {
      const dest = new Uint8Array(length! + 2).fill(0xee);
      await file.readInto(offset!, length!, dest);
      expect(
        Buffer.from(dest.subarray(0, length)).equals(data.subarray(offset!, offset! + length!)),
      ).toBe(true);
      expect([...dest.subarray(length)]).toEqual([0xee, 0xee]);
    }
    // A view into a larger buffer: only its window is written.
    const backing = new Uint8Array(64).fill(1);
    await file.readInto(10, 16, backing.subarray(8, 24));
    expect(Buffer.from(backing.subarray(8, 24)).equals(data.subarray(10, 26))).toBe(true);
    expect(backing[7]).toBe(1);
    expect(backing[24]).toBe(1);
    await file.close();
  });

  it("rejects ranges past EOF with ERR_FILE_TRUNCATED", async () => {
    const file = await backend.open(path);
    await expect(file.readInto(data.length - 4, 5, new Uint8Array(5))).rejects.toSatisfy(
      isCode("ERR_FILE_TRUNCATED"),
    );
    await expect(file.readInto(data.length + 1, 0, new Uint8Array(0))).rejects.toSatisfy(
      isCode("ERR_FILE_TRUNCATED"),
    );
    await file.close();
  });

  it("survives the file being truncated while open (typed error, no SIGBUS)", async () => {
    const shrinking = writeTemp(dir, `shrink-${name}.bin`, data);
    const file = await backend.open(shrinking);
    truncateSync(shrinking, 1000);
    await file.readInto(0, 1000, new Uint8Array(1000));
    await expect(file.readInto(0, 4096, new Uint8Array(4096))).rejects.toSatisfy(
      isCode("ERR_FILE_TRUNCATED"),
    );
    await file.close();
  });

  it("fails to open missing files and directories with ERR_IO", async () => {
    await expect(backend.open(`${dir}/missing.bin`)).rejects.toSatisfy(isCode("ERR_IO"));
    await expect(backend.open(dir)).rejects.toSatisfy(isCode("ERR_IO"));
  });

  it("serves 200 concurrent reads correctly", async () => {
    const file = await backend.open(path);
    const jobs = Array.from({ length: 200 }, (_, i) => {
      const offset = (i * 7919) % (data.length - 4096);
      const length = 1 + ((i * 104729) % 4096);
      const dest = new Uint8Array(length);
      return file
        .readInto(offset, length, dest)
        .then(() => Buffer.from(dest).equals(data.subarray(offset, offset + length)));
    });
    expect((await Promise.all(jobs)).every(Boolean)).toBe(true);
    await file.close();
  });

  it("defers close until in-flight reads finish; later reads fail with ERR_CLOSED", async () => {
    const file = await backend.open(path);
    const dests = Array.from({ length: 20 }, () => new Uint8Array(data.length));
    const reads = dests.map((dest) => file.readInto(0, data.length, dest));
    const closed = file.close();
    expect(file.close()).toBe(closed); // repeated close shares the pending close
    await expect(file.readInto(0, 1, new Uint8Array(1))).rejects.toSatisfy(isCode("ERR_CLOSED"));
    await Promise.all(reads); // every read that started before close() completes fully
    for (const dest of dests) expect(Buffer.from(dest).equals(data)).toBe(true);
    await closed;
    await expect(file.readInto(0, 1, new Uint8Array(1))).rejects.toSatisfy(isCode("ERR_CLOSED"));
    await expect(file.close()).resolves.toBeUndefined();
  });

  it("rejects bad arguments with TypeError/RangeError, never a crash", async () => {
    const file = await backend.open(path);
    const dest = new Uint8Array(8);
    const misuse: Array<[() => Promise<void>, ErrorConstructor]> = [
      [() => file.readInto("0" as unknown as number, 8, dest), TypeError],
      [() => file.readInto(0, 8, [] as unknown as Uint8Array), TypeError],
      [() => file.readInto(0, 8, new Float32Array(2) as unknown as Uint8Array), TypeError],
      [
        () =>
          file.readInto(
            0,
            8,
            new Uint8Array(
              new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(8, {
                maxByteLength: 16,
              }),
            ),
          ),
        TypeError,
      ],
      [() => file.readInto(-1, 8, dest), RangeError],
      [() => file.readInto(0.5, 8, dest), RangeError],
      [() => file.readInto(2 ** 53, 8, dest), RangeError],
      [() => file.readInto(0, 9, dest), RangeError],
      [() => file.decryptInto(null as unknown as DecryptRequest, dest), TypeError],
      [
        () => file.decryptInto({ algorithm: "aes-256-gcm" } as unknown as DecryptRequest, dest),
        TypeError,
      ],
    ];
    for (const [call, type] of misuse) await expect(call()).rejects.toThrow(type);
    const good: DecryptRequest = {
      algorithm: "aes256gcm",
      key: new Uint8Array(32),
      fileOffset: 0,
      length: 8,
      chunkSize: 4,
      firstChunk: 0,
      baseIv: new Uint8Array(12),
      tags: new Uint8Array(32),
    };
    await expect(file.decryptInto({ ...good, tags: new Uint8Array(16) }, dest)).rejects.toThrow(
      RangeError,
    );
    await expect(file.decryptInto({ ...good, key: new Uint8Array(16) }, dest)).rejects.toSatisfy(
      isCode("ERR_INVALID_KEY_LENGTH"),
    );
    await expect(file.decryptInto({ ...good, baseIv: new Uint8Array(8) }, dest)).rejects.toSatisfy(
      isCode("ERR_INVALID_IV_LENGTH"),
    );
    await expect(
      file.decryptInto({ ...good, fileOffset: data.length - 4 }, dest),
    ).rejects.toSatisfy(isCode("ERR_FILE_TRUNCATED"));
    await expect(backend.open("a\0b")).rejects.toThrow(TypeError);
    await file.close();
  });
});

describe("native path", () => {
  it("is the default backend and the addon counts the reads it served", async () => {
    if (process.env["CRYPTOTENSORS_BACKEND"] === undefined) expect(backendName()).toBe("native");
    const before = nativeStats();
    const file = await getBackend("native").open(path);
    await file.readInto(0, 100, new Uint8Array(100));
    await file.close();
    const after = nativeStats();
    expect(after.opens - before.opens).toBe(1);
    expect(after.reads - before.reads).toBe(1);
  });
});
