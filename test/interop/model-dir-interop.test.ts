// Model directories against the real HF tooling and the reference package (issue 15): a sharded
// checkpoint written by huggingface_hub + safetensors (with a tokenizers tokenizer and configs)
// goes through `encrypt → verify → decrypt` of our CLI unchanged; the reference opens every shard
// we encrypt; a directory the reference encrypted shard by shard opens here as "unbound".
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, openFile, openModel, type Tensor } from "../../src/index.js";
import { expectRejects } from "../adversarial/expect-rejects.js";
import { runCli } from "../cli/run-cli.js";
import { tempDir } from "../support/temp-dir.js";
import { runPython } from "./python-env.js";
import { expectRefOk, makeRefKeys, masterKeyOf, refRead, signingKeyOf } from "./reference.js";

const dir = tempDir("ct-hf-model-");
const at = (name: string) => join(dir, name);
const keys = makeRefKeys();
const hex = (t: Tensor) => Buffer.from(t.data).toString("hex");

interface Made {
  ok: true;
  shards: string[];
  tensors: Record<string, { dtype: string; shape: number[] }>;
  total_size: number | null;
}

async function makeHfModel(name: string, maxShardSize: number): Promise<Made> {
  return await runPython<Made>("hf_model.py", {
    op: "make",
    dir: at(name),
    max_shard_size: maxShardSize,
  });
}

let sharded: Made;
let plainTensors: Record<string, Tensor>;

beforeAll(async () => {
  sharded = await makeHfModel("hf", 150_000);
  writeFileSync(at("keys.json"), JSON.stringify(keys));
  plainTensors = await loadModel(at("hf"));
});

describe("HF model directories through the CLI and the reference", () => {
  it("the HF checkpoint is sharded with an index and opens here as an unencrypted model", () => {
    expect(sharded.shards.length).toBeGreaterThan(2);
    expect(Object.keys(plainTensors).sort()).toEqual(Object.keys(sharded.tensors).sort());
  });

  it("encrypt → verify → decrypt: every tensor back, every file byte for byte (shards and index included)", async () => {
    const enc = await runCli(["encrypt", at("hf"), at("hf.ct"), "--keys", at("keys.json")]);
    expect(enc.stderr).toBe("");
    expect(enc.status).toBe(0);
    const verify = await runCli([
      "verify",
      at("hf.ct"),
      "--keys",
      at("keys.json"),
      "--require-bound-shards",
    ]);
    expect(verify.stdout).toContain("bound as one model");
    expect(verify.status).toBe(0);
    const dec = await runCli(["decrypt", at("hf.ct"), at("hf.back"), "--keys", at("keys.json")]);
    expect(dec.status).toBe(0);
    const names = readdirSync(at("hf")).sort();
    expect(readdirSync(at("hf.back")).sort()).toEqual(names);
    for (const name of names)
      expect(readFileSync(at(`hf.back/${name}`)).equals(readFileSync(at(`hf/${name}`))), name).toBe(
        true,
      );
    const index = JSON.parse(readFileSync(at("hf.ct/model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBe(sharded.total_size);
    expect(index.metadata["cryptotensors.model.shards"]).toBe(String(sharded.shards.length));
  });

  it("the reference opens every encrypted shard with the keys and reads the same tensors", async () => {
    for (const shard of sharded.shards) {
      const out = expectRefOk(await refRead({ path: at(`hf.ct/${shard}`), keys }));
      const mine = await openFile(at(`hf/${shard}`));
      expect(Object.keys(out.tensors).sort()).toEqual(mine.names().sort());
      for (const [name, t] of Object.entries(out.tensors))
        expect(t.hex, `${shard} ${name}`).toBe(hex(plainTensors[name] as Tensor));
      expect(out.metadata.format).toBe("pt");
      expect(out.metadata["cryptotensors.model.set"]).toMatch(/^[0-9a-f]{32}$/);
      await mine.close();
    }
  });

  it("a directory the reference encrypted shard by shard opens with an unbound warning, or is refused", async () => {
    expectRefOk(
      await runPython("hf_model.py", {
        op: "ref_encrypt_shards",
        dir: at("hf"),
        out: at("hf.ref"),
        config: { enc_key: masterKeyOf(keys), sign_key: signingKeyOf(keys) },
      }),
    );
    const warnings: string[] = [];
    const model = await openModel(at("hf.ref"), { keys, onWarning: (m) => warnings.push(m) });
    expect(model.binding).toMatchObject({ encrypted: true, bound: false });
    expect(warnings.join("\n")).toContain("unbound shards");
    const tensors = await model.readAll();
    for (const [name, t] of Object.entries(tensors))
      expect(hex(t), name).toBe(hex(plainTensors[name] as Tensor));
    await model.close();
    await expectRejects(
      openModel(at("hf.ref"), { keys, requireBoundShards: true }),
      "ERR_MODEL_UNBOUND",
    );
    const verify = await runCli(["verify", at("hf.ref"), "--keys", at("keys.json")]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain("NOT bound");
    expect(verify.stderr).toContain("warning: unbound shards");
    const strict = await runCli([
      "verify",
      at("hf.ref"),
      "--keys",
      at("keys.json"),
      "--require-bound-shards",
    ]);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain("ERR_MODEL_UNBOUND");
  });

  it("a single-file HF model directory (model.safetensors, no index) goes through the same way", async () => {
    await makeHfModel("single", 10_000_000);
    expect(readdirSync(at("single"))).toContain("model.safetensors");
    expect(readdirSync(at("single"))).not.toContain("model.safetensors.index.json");
    expect(
      (await runCli(["encrypt", at("single"), at("single.ct"), "--keys", at("keys.json")])).status,
    ).toBe(0);
    expectRefOk(await refRead({ path: at("single.ct/model.safetensors"), keys }));
    expect(
      (await runCli(["decrypt", at("single.ct"), at("single.back"), "--keys", at("keys.json")]))
        .status,
    ).toBe(0);
    for (const name of readdirSync(at("single")))
      expect(
        readFileSync(at(`single.back/${name}`)).equals(readFileSync(at(`single/${name}`))),
      ).toBe(true);
  });
});
