// openModel / loadModel / saveModel / verifyModel / convertModel over sharded and single-file
// model directories, on both byte backends.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  convertModel,
  inspectModel,
  loadModel,
  openModel,
  saveModel,
  verifyModel,
} from "../../src/index.js";
import { planShards } from "../../src/model/save-model.js";
import { parseShardIndex, serializeShardIndex } from "../../src/model/index-json.js";
import { expectRejects } from "../adversarial/expect-rejects.js";
import { tempDir } from "../support/temp-dir.js";
import { INDEX, keysAndEncryption, randomModel } from "./helpers.js";

const root = tempDir("ct-model-");
let n = 0;
const fresh = () => join(root, `m${n++}`);

describe("planShards (huggingface_hub's split)", () => {
  it("starts a new shard when the next tensor would pass the limit; an oversized tensor gets its own shard first", () => {
    const plan = planShards(
      [
        { name: "a", byteLength: 4 },
        { name: "b", byteLength: 4 },
        { name: "big", byteLength: 20 },
        { name: "c", byteLength: 4 },
      ],
      10,
      "model",
    );
    expect(plan.map((s) => [s.file, s.names])).toEqual([
      ["model-00001-of-00003.safetensors", ["big"]],
      ["model-00002-of-00003.safetensors", ["a", "b"]],
      ["model-00003-of-00003.safetensors", ["c"]],
    ]);
    expect(planShards([{ name: "a", byteLength: 4 }], 10, "model")[0]?.file).toBe(
      "model.safetensors",
    );
  });

  it("writes the index like transformers: sorted keys, 2-space indent, ASCII escapes, final newline", () => {
    const text = serializeShardIndex({
      metadata: [["total_size", 12]],
      weightMap: [
        ["b", "model-00002-of-00002.safetensors"],
        ["a\u00e9", "model-00001-of-00002.safetensors"],
      ],
    });
    expect(text).toBe(
      '{\n  "metadata": {\n    "total_size": 12\n  },\n  "weight_map": {\n    "a\\u00e9": "model-00001-of-00002.safetensors",\n    "b": "model-00002-of-00002.safetensors"\n  }\n}\n',
    );
    expect(parseShardIndex(text, "i").weightMap).toContainEqual([
      "a\u00e9",
      "model-00001-of-00002.safetensors",
    ]);
  });
});

describe.each(["native", "fallback"] as const)("model directories (%s backend)", (backend) => {
  it("saveModel → openModel/loadModel reproduces every tensor; plain and encrypted; bound when encrypted", async () => {
    const tensors = randomModel(7, 3000);
    const { keys, encryption } = keysAndEncryption();
    const plainDir = fresh();
    await saveModel(plainDir, tensors, { maxShardSize: 30_000 });
    const encDir = fresh();
    await saveModel(encDir, tensors, { maxShardSize: 30_000, encryption });
    expect(readdirSync(encDir).sort()).toEqual([
      "model-00001-of-00004.safetensors",
      "model-00002-of-00004.safetensors",
      "model-00003-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
      INDEX,
    ]);
    const plain = await loadModel(plainDir, { backend });
    const back = await loadModel(encDir, { backend, keys, requireBoundShards: true });
    for (const [name, t] of Object.entries(tensors)) {
      expect(Buffer.from(plain[name]!.data).equals(Buffer.from(t.data))).toBe(true);
      expect(Buffer.from(back[name]!.data).equals(Buffer.from(t.data))).toBe(true);
    }
    const model = await openModel(encDir, { backend, keys });
    expect(model.binding).toMatchObject({ encrypted: true, bound: true });
    expect(model.names().sort()).toEqual(Object.keys(tensors).sort());
    expect(model.metadata()).toEqual({ format: "pt" });
    expect(model.info("model.layers.3.mlp.weight")).toMatchObject({
      dtype: "F32",
      encrypted: true,
    });
    const slice = await model.getSlice("model.layers.6.mlp.weight", [[10, 20]]);
    expect(
      Buffer.from(slice.data).equals(
        Buffer.from(tensors["model.layers.6.mlp.weight"]!.data.subarray(40, 80)),
      ),
    ).toBe(true);
    const arena = new ArrayBuffer(model.readAllByteLength());
    const seen: number[] = [];
    const all = await model.readAll({
      into: arena,
      onProgress: (p) => seen.push(p.bytesDone / p.bytesTotal),
    });
    expect(seen.at(-1)).toBe(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    for (const [name, t] of Object.entries(all)) {
      expect(t.data.buffer).toBe(arena);
      expect(t.data.byteOffset % 64).toBe(0);
      expect(Buffer.from(t.data).equals(Buffer.from(tensors[name]!.data))).toBe(true);
    }
    await model.close();
    const verified = await verifyModel(encDir, { verifyKeys: { keys: [keys.keys[1]] } });
    expect(verified).toMatchObject({ bound: true, shards: expect.any(Array) });
    const index = JSON.parse(readFileSync(join(encDir, INDEX), "utf8"));
    expect(index.metadata["cryptotensors.model.set"]).toBe(verified.setId);
    expect(index.metadata.total_size).toBe(7 * 3000 * 4);
  });

  it("opens only the requested tensors, and a single-file model directory", async () => {
    const tensors = randomModel(3, 100);
    const { keys, encryption } = keysAndEncryption();
    const dir = fresh();
    await saveModel(dir, tensors, { maxShardSize: 500, encryption });
    const viaIndex = await openModel(join(dir, INDEX), { backend, keys, requireBoundShards: true });
    expect(viaIndex.names()).toHaveLength(3);
    await viaIndex.close();
    const model = await openModel(dir, { backend, keys, tensors: ["model.layers.1.mlp.weight"] });
    expect(model.names()).toEqual(["model.layers.1.mlp.weight"]);
    await model.close();
    const single = fresh();
    await saveModel(single, tensors, { encryption });
    expect(readdirSync(single)).toEqual(["model.safetensors"]);
    const loaded = await loadModel(single, { backend, keys, requireBoundShards: true });
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(tensors).sort());
  });

  it("loadModel lands every shard in one zero-padded region; progress runs to the end; an abort stops it", async () => {
    // 400,012-byte tensors (not a multiple of 64: padding inside and between shard blocks), 2 per
    // shard, ~2.8 MB in all: an addon arena on the native backend.
    const tensors = randomModel(7, 100_003);
    const { keys, encryption } = keysAndEncryption();
    const dir = fresh();
    await saveModel(dir, tensors, { maxShardSize: 1_000_000, encryption });
    const seen: number[] = [];
    const loaded = await loadModel(dir, {
      backend,
      keys,
      onProgress: (p) => seen.push(p.bytesDone / p.bytesTotal),
    });
    expect(seen.at(-1)).toBe(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const views = Object.values(loaded).map((t) => t.data);
    const region = new Uint8Array(views[0]!.buffer);
    expect(views.every((v) => v.buffer === region.buffer)).toBe(true);
    const covered = new Uint8Array(region.length);
    for (const [name, t] of Object.entries(loaded)) {
      expect(Buffer.from(t.data).equals(Buffer.from(tensors[name]!.data))).toBe(true);
      expect(t.data.byteOffset % 64).toBe(0);
      covered.fill(1, t.data.byteOffset, t.data.byteOffset + t.data.byteLength);
    }
    expect(region.every((byte, i) => covered[i] === 1 || byte === 0)).toBe(true);

    // An abort once the first shard is in stops the load before the next shard.
    const controller = new AbortController();
    const reached: number[] = [];
    await expectRejects(
      loadModel(dir, {
        backend,
        keys,
        signal: controller.signal,
        onProgress: (p) => {
          reached.push(p.bytesDone);
          if (p.bytesDone >= 2 * 400_012) controller.abort();
        },
      }),
      "ERR_ABORTED",
    );
    expect(Math.max(...reached)).toBe(2 * 400_012);
  });

  it("convertModel encrypts and decrypts a directory: other files byte for byte, shards back byte-identical", async () => {
    const tensors = randomModel(5, 1000);
    const { keys, encryption } = keysAndEncryption();
    const plainDir = fresh();
    await saveModel(plainDir, tensors, { maxShardSize: 9000 });
    writeFileSync(join(plainDir, "config.json"), '{"model_type": "llama"}\n');
    mkdirSync(join(plainDir, "original"));
    writeFileSync(join(plainDir, "original", "params.json"), "{}");
    const encDir = fresh();
    const result = await convertModel(plainDir, encDir, { encryption, input: { backend } });
    expect(result.copied.sort()).toEqual(["config.json", "original/params.json"]);
    const backDir = fresh();
    await convertModel(encDir, backDir, { input: { backend, keys, requireBoundShards: true } });
    for (const file of [
      ...readdirSync(plainDir).filter((f) => f !== "original"),
      "original/params.json",
    ]) {
      expect(
        readFileSync(join(backDir, file)).equals(readFileSync(join(plainDir, file))),
        file,
      ).toBe(true);
    }
    const described = await inspectModel(encDir);
    expect(described.shards).toHaveLength(3);
    expect(described.indexMetadata?.["cryptotensors.model.shards"]).toBe("3");
  });

  it("a failed conversion leaves nothing behind, and an existing output is refused", async () => {
    const tensors = randomModel(4, 1000);
    const { encryption } = keysAndEncryption();
    const encDir = fresh();
    await saveModel(encDir, tensors, { maxShardSize: 9000, encryption });
    const out = fresh();
    // No keys: decrypting fails at the first shard.
    await expectRejects(convertModel(encDir, out, { input: { backend } }), "ERR_KEY_NOT_FOUND");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    await expectRejects(saveModel(encDir, tensors), "ERR_IO");
    await expectRejects(
      convertModel(encDir, join(encDir, "inside"), { input: { backend } }),
      "ERR_IO",
    );
  });
});
