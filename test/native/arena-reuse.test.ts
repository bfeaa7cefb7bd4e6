// Issue 13: arena reuse (setArenaReuse). Freed arenas are kept up to a limit and handed out again;
// a caller promised zero-filled memory (allocateArena) gets zeros, a load gets exactly its
// tensors with zeroed gaps between them, whatever the recycled memory held; the limit holds and
// 0 gives everything back. Runs in a child with --expose-gc (arenas are freed by the collector).
import { resolve } from "node:path";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeySet, saveFile, setArenaReuse, type TensorInput } from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { runChild } from "../support/child.js";

const DIST = resolve(__dirname, "../../dist/index.js");
const NATIVE = resolve(__dirname, "../../dist/native/index.js");
const dir = tempDir("ct-reuse-");

/** Runs `script` (ESM; the built package as `lib`, its native diagnostics as `native`) with gc exposed; returns its last stdout line as JSON. */
async function inChild(script: string, env: Record<string, string> = {}): Promise<unknown> {
  const prelude = `const lib = await import(${JSON.stringify(DIST)});
const native = await import(${JSON.stringify(NATIVE)});
const collect = async () => { for (let i = 0; i < 6; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); } };
const stats = () => native.nativeStats();
`;
  const run = await runChild(
    process.execPath,
    ["--expose-gc", "--input-type=module", "-e", prelude + script],
    { env: { ...process.env, ...env }, timeout: 120_000 },
  );
  expect(run.signal, run.stderr).toBeNull();
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split("\n").pop() as string);
}

/** Odd-sized tensors (so the arena has gaps) over ~6 MiB, saved encrypted (v2) and plain. */
async function writeModel() {
  const tensors: Record<string, TensorInput & { data: Uint8Array }> = {
    a: randomTensor((2 << 20) + 5),
    b: randomTensor(6, "F16"),
    c: randomTensor((2 << 20) + 77),
    d: randomTensor((2 << 20) - 9),
  };
  const keys = generateKeySet({ alg: "aes256gcm" });
  const encrypted = join(dir, "reuse-enc.safetensors");
  const plain = join(dir, "reuse-plain.safetensors");
  await saveFile(encrypted, tensors, {
    encryption: { encKey: keys.keys[0], signKey: keys.keys[1], version: "2", chunkSize: 1 << 20 },
  });
  await saveFile(plain, tensors);
  return { tensors, keys, encrypted, plain };
}

describe("setArenaReuse", () => {
  it("refuses a negative or fractional limit", () => {
    expect(() => setArenaReuse(-1)).toThrow(RangeError);
    expect(() => setArenaReuse(1.5)).toThrow(RangeError);
    setArenaReuse(0);
  });

  it("hands a freed arena out again, zero-filled for allocateArena", async () => {
    const result = await inChild(`
      const before = stats().arenaReuses;
      lib.setArenaReuse(64 << 20);
      let a = new Uint8Array(lib.allocateArena(8 << 20));
      a.fill(0xab);
      a = undefined;
      await collect();
      const idle = stats().arenaIdleBytes;
      const b = new Uint8Array(lib.allocateArena(8 << 20));
      const zero = b.every((x) => x === 0);
      console.log(JSON.stringify({ idle, reused: stats().arenaReuses - before, zero, idleAfter: stats().arenaIdleBytes }));
    `);
    expect(result).toEqual({ idle: 8 << 20, reused: 1, zero: true, idleAfter: 0 });
  });

  it("without reuse (the default) nothing is kept", async () => {
    const result = await inChild(`
      let a = new Uint8Array(lib.allocateArena(8 << 20));
      a = undefined;
      await collect();
      const b = lib.allocateArena(8 << 20);
      console.log(JSON.stringify({ idle: stats().arenaIdleBytes, reused: stats().arenaReuses }));
    `);
    expect(result).toEqual({ idle: 0, reused: 0 });
  });

  it("a load into recycled memory holds exactly its tensors, with zeroed gaps (encrypted and plain)", async () => {
    const m = await writeModel();
    const result = (await inChild(
      `
      const keys = JSON.parse(process.env.KEYS);
      lib.setArenaReuse(256 << 20);
      const out = {};
      for (const path of [process.env.ENC, process.env.PLAIN]) {
        const file = await lib.openFile(path, { keys });
        const size = file.readAllByteLength();
        // Memory full of 0xff, freed: the next load of this size gets it back.
        let junk = new Uint8Array(lib.allocateArena(size));
        junk.fill(0xff);
        junk = undefined;
        await collect();
        const before = stats().arenaReuses;
        const tensors = await file.readAll();
        const reused = stats().arenaReuses - before;
        const whole = new Uint8Array(tensors.a.data.buffer);
        const covered = new Uint8Array(whole.length);
        const digest = {};
        for (const [name, t] of Object.entries(tensors)) {
          covered.fill(1, t.data.byteOffset, t.data.byteOffset + t.data.length);
          digest[name] = (await import("node:crypto")).createHash("sha256").update(t.data).digest("hex");
        }
        const gapsZero = whole.every((x, i) => covered[i] === 1 || x === 0);
        const gapBytes = covered.filter((x) => x === 0).length;
        out[path === process.env.ENC ? "enc" : "plain"] = { reused, gapsZero, gapBytes, digest };
        await file.close();
      }
      console.log(JSON.stringify(out));
      `,
      { KEYS: JSON.stringify(m.keys), ENC: m.encrypted, PLAIN: m.plain },
    )) as Record<
      string,
      { reused: number; gapsZero: boolean; gapBytes: number; digest: Record<string, string> }
    >;
    const { createHash } = await import("node:crypto");
    const expected = Object.fromEntries(
      Object.entries(m.tensors).map(([n, t]) => [
        n,
        createHash("sha256").update(t.data).digest("hex"),
      ]),
    );
    for (const kind of ["enc", "plain"]) {
      const r = result[kind];
      expect(r?.reused, kind).toBe(1);
      expect(r?.gapBytes, kind).toBeGreaterThan(0);
      expect(r?.gapsZero, kind).toBe(true);
      expect(r?.digest, kind).toEqual(expected);
    }
  });

  it("keeps at most the limit, and 0 gives every kept byte back", async () => {
    const result = await inChild(`
      lib.setArenaReuse(20 << 20);
      let arenas = [0, 1, 2].map(() => lib.allocateArena(8 << 20));
      arenas = undefined;
      await collect();
      const kept = stats().arenaIdleBytes;
      lib.setArenaReuse(0);
      console.log(JSON.stringify({ kept, after: stats().arenaIdleBytes }));
    `);
    expect(result).toEqual({ kept: 16 << 20, after: 0 });
  });
});
