// Many reads at once on one TensorFile, and close() while they are in flight: every read gets
// its own correct bytes, close() waits for them (deferred, never a use-after-close), and reads
// started after close() are refused with ERR_CLOSED. Both byte backends, plain and encrypted.
import { tempDir } from "../support/temp-dir.js";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { generateKeySet } from "../../src/keys/keyring.js";
import { openFile } from "../../src/reader/open-file.js";
import { saveFile } from "../../src/writer/save-file.js";

const dir = tempDir("ct-conc-");
const keySet = generateKeySet({ encKid: "e", signKid: "s" });
const keys = { keys: [...keySet.keys] };
// 16 tensors of different sizes, so that concurrent reads of different tensors interleave.
const tensors = Object.fromEntries(
  Array.from({ length: 16 }, (_, i) => [
    `t${i}`,
    {
      dtype: "U8" as const,
      shape: [1000 + i * 997],
      data: new Uint8Array(randomBytes(1000 + i * 997)),
    },
  ]),
);
const files: Record<string, string> = {};

beforeAll(async () => {
  files["plain"] = join(dir, "plain.safetensors");
  files["v2"] = join(dir, "v2.safetensors");
  files["v1"] = join(dir, "v1.safetensors");
  await saveFile(files["plain"], tensors);
  await saveFile(files["v2"], tensors, {
    encryption: { encKey: keySet.keys[0], signKey: keySet.keys[1], chunkSize: 512 },
  });
  await saveFile(files["v1"], tensors, {
    encryption: { encKey: keySet.keys[0], signKey: keySet.keys[1], version: "1" },
  });
});

const CASES = (["native", "fallback"] as const).flatMap((backend) =>
  (["plain", "v2", "v1"] as const).map((kind) => [backend, kind] as const),
);

describe.each(CASES)("%s backend, %s file", (backend, kind) => {
  it("serves 1,000 concurrent getTensor calls with the right bytes", async () => {
    const file = await openFile(files[kind] as string, { keys, backend });
    const names = file.names();
    const reads = Array.from({ length: 1000 }, (_, i) => {
      const name = names[i % names.length] as string;
      return file.getTensor(name).then((t) => ({ name, t }));
    });
    for (const { name, t } of await Promise.all(reads)) {
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(tensors[name]!.data))).toBe(0);
    }
    await file.close();
  });

  it("defers close() until in-flight reads finish, then refuses new ones", async () => {
    const file = await openFile(files[kind] as string, { keys, backend });
    const inFlight = file
      .names()
      .flatMap((name) => [file.getTensor(name), file.getSlice(name, [[10, 900]])]);
    let closed = false;
    const closing = file.close().then(() => (closed = true));
    // Started before close(): they complete, with correct data, before close resolves.
    const results = await Promise.all(inFlight);
    results.forEach((t, i) => {
      const source = tensors[file.names()[Math.floor(i / 2)] as string]!.data;
      const expected = i % 2 === 0 ? source : source.subarray(10, 900);
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(expected))).toBe(0);
    });
    await closing;
    expect(closed).toBe(true);
    // Started after close(): refused, synchronously or not, with ERR_CLOSED.
    await expect((async () => file.getTensor("t0"))()).rejects.toSatisfy(
      (e: unknown) => e instanceof CryptoTensorsError && e.code === "ERR_CLOSED",
    );
    await file.close(); // idempotent
  });

  it("survives close() racing with reads started on every tick", async () => {
    const file = await openFile(files[kind] as string, { keys, backend });
    const outcomes: Promise<"ok" | "closed">[] = [];
    for (let i = 0; i < 200; i++) {
      const read = (async () => file.getTensor(`t${i % 16}`))().then(
        () => "ok" as const,
        (e: unknown) => {
          if (e instanceof CryptoTensorsError && e.code === "ERR_CLOSED") return "closed" as const;
          throw e;
        },
      );
      outcomes.push(read);
      if (i === 100) void file.close();
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(outcomes);
    expect(results.slice(0, 101).every((r) => r === "ok")).toBe(true);
    expect(results.slice(101).every((r) => r === "closed")).toBe(true);
    await file.close();
  });
});
