// The CLI on model directories (issue 15): encrypt, verify, inspect, decrypt and rewrap take IN/OUT
// directories; outputs appear whole or not at all; other files are copied byte for byte.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateKeySet, loadModel, saveModel } from "../../src/index.js";
import { tempDir } from "../support/temp-dir.js";
import { randomModel } from "../model/helpers.js";
import { CLI, runCli } from "./run-cli.js";

const dir = tempDir("ct-cli-model-");
const at = (name: string) => join(dir, name);
const tensors = randomModel(6, 5000);
const keys = generateKeySet({ encKid: "enc-1", signKid: "sign-1" });
const newKeys = generateKeySet({ encKid: "enc-2", signKid: "sign-2" });

/** Every file under `root`, relative, sorted. */
function files(root: string, prefix = ""): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(root, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

beforeAll(async () => {
  await saveModel(at("model"), tensors, { maxShardSize: 45_000 });
  writeFileSync(at("model/config.json"), '{\n  "model_type": "llama"\n}\n');
  writeFileSync(at("model/tokenizer_config.json"), '{"model_max_length": 8}');
  writeFileSync(at("model/README.md"), "# tiny\n");
  mkdirSync(at("model/original"));
  writeFileSync(at("model/original/params.json"), "{}");
  writeFileSync(at("k.json"), JSON.stringify(keys));
  writeFileSync(at("k2.json"), JSON.stringify(newKeys));
});

describe("cryptotensors CLI on model directories", () => {
  it("encrypt → verify → decrypt reproduces every tensor and copies every other file byte for byte", async () => {
    const enc = await runCli(["encrypt", at("model"), at("enc"), "--keys", at("k.json")]);
    expect(enc.stderr).toBe("");
    expect(enc.status).toBe(0);
    expect(enc.stdout).toContain("3 shard(s) encrypted and bound");
    expect(files(at("enc"))).toEqual(files(at("model")));
    const verify = await runCli([
      "verify",
      at("enc"),
      "--keys",
      at("k.json"),
      "--require-bound-shards",
    ]);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain(
      "3 shard(s), signatures valid, policy allows, bound as one model",
    );
    const dec = await runCli(["decrypt", at("enc"), at("back"), "--keys", at("k.json")]);
    expect(dec.stderr).toBe("");
    expect(dec.status).toBe(0);
    for (const file of files(at("model")))
      expect(readFileSync(at(`back/${file}`)).equals(readFileSync(at(`model/${file}`))), file).toBe(
        true,
      );
    const back = await loadModel(at("back"));
    for (const [name, t] of Object.entries(tensors))
      expect(Buffer.from(back[name]!.data).equals(Buffer.from(t.data))).toBe(true);
  });

  it("inspect describes the shards and their binding without keys (text and --json)", async () => {
    const text = await runCli(["inspect", at("enc")]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("index: model.safetensors.index.json");
    expect(text.stdout).toMatch(/shard 2 of 3, set [0-9a-f]{32}/);
    const json = JSON.parse((await runCli(["inspect", at("enc"), "--json"])).stdout);
    expect(json.shards).toHaveLength(3);
  });

  it("rewrap writes a new directory under the new keys; in place is refused for directories", async () => {
    const r = await runCli([
      "rewrap",
      at("enc"),
      at("rotated"),
      "--keys",
      at("k.json"),
      "--new-keys",
      at("k2.json"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect((await runCli(["verify", at("rotated"), "--keys", at("k2.json")])).status).toBe(0);
    expect((await runCli(["verify", at("rotated"), "--keys", at("k.json")])).status).toBe(1);
    const loaded = await loadModel(at("rotated"), { keys: newKeys, requireBoundShards: true });
    expect(Object.keys(loaded)).toHaveLength(6);
    const inPlace = await runCli([
      "rewrap",
      at("enc"),
      at("enc"),
      "--keys",
      at("k.json"),
      "--new-keys",
      at("k2.json"),
    ]);
    expect(inPlace.status).toBe(1);
    expect(inPlace.stderr).toContain("ERR_NOT_SUPPORTED");
  });

  it("a failure leaves no output and no temporary directory; an existing OUT is refused", async () => {
    const wrong = generateKeySet();
    writeFileSync(at("wrong.json"), JSON.stringify(wrong));
    const bad = await runCli(["decrypt", at("enc"), at("nothing"), "--keys", at("wrong.json")]);
    expect(bad.status).toBe(1);
    expect(existsSync(at("nothing"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const exists = await runCli(["encrypt", at("model"), at("enc"), "--keys", at("k.json")]);
    expect(exists.status).toBe(1);
    expect(exists.stderr).toContain("already exists");
  });

  it("refuses to encrypt a directory holding weight files the index does not list", async () => {
    mkdirSync(at("stray"));
    for (const file of files(at("model")))
      if (!file.includes("/"))
        writeFileSync(at(`stray/${file}`), readFileSync(at(`model/${file}`)));
    writeFileSync(at("stray/consolidated.safetensors"), "x");
    const r = await runCli(["encrypt", at("stray"), at("stray.enc"), "--keys", at("k.json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ERR_MODEL_INVALID");
    expect(r.stderr).toContain("consolidated.safetensors");
    expect(existsSync(at("stray.enc"))).toBe(false);
  });

  it("Ctrl-C during a directory encryption stops it and leaves no output and no temporary directory", async () => {
    await saveModel(at("big"), randomModel(12, 8 << 20), { maxShardSize: 100 << 20 });
    const child = spawn(
      process.execPath,
      [CLI, "encrypt", at("big"), at("big.enc"), "--keys", at("k.json")],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    const temp = () =>
      readdirSync(dir).filter((f) => f.startsWith(".big.enc.") && f.endsWith(".tmp"));
    for (let i = 0; i < 500 && temp().length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(temp()).toHaveLength(1);
    child.kill("SIGINT");
    expect(await exited).toBe(1);
    expect(stderr).toContain("ERR_ABORTED");
    expect(existsSync(at("big.enc"))).toBe(false);
    expect(temp()).toEqual([]);
  });
});
