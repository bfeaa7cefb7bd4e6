// Whole models over HTTP from a real nginx on 127.0.0.1: openModel/loadModel/verifyModel/
// inspectModel take the URL of a model directory, of its index, or of a single-file model, and give
// the same tensors, binding and errors as the local directory; shards come from the directory's
// URL (shardLocation); a private location needs the headers option, for the index and every shard.
// The CLI's inspect and verify treat a URL ending in "/" or ".index.json" as a model.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  generateKeySet,
  inspectModel,
  loadModel,
  openModel,
  saveModel,
  verifyModel,
} from "../../src/index.js";
import { CLI } from "../cli/run-cli.js";
import { randomTensor } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { type Nginx, startNginx } from "../support/nginx.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = "model-token-value";
const execFileAsync = promisify(execFile);

/** The CLI as an asynchronous child (a synchronous one would stall the test worker). */
async function runCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    return { status: 0, ...(await execFileAsync(process.execPath, [CLI, ...args])) };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
const dir = tempDir("ct-remote-models-");
const set = generateKeySet({ alg: "aes256gcm" });
const tensors = {
  a: randomTensor(40_000),
  b: randomTensor(30_000),
  c: randomTensor(20_000),
  d: randomTensor(0),
};
const encryption = { encKey: set.keys[0], signKey: set.keys[1], chunkSize: 8192 };
let nginx: Nginx;

beforeAll(async () => {
  nginx = await startNginx(TOKEN);
  await saveModel(join(dir, "sharded"), tensors, { maxShardSize: 35_000, encryption });
  await saveModel(join(dir, "single"), { a: tensors.a }, { encryption });
  for (const name of ["sharded", "single"])
    cpSync(join(dir, name), join(nginx.root, name), { recursive: true });
  cpSync(join(dir, "sharded"), join(nginx.root, "private", "sharded"), { recursive: true });
  mkdirSync(join(nginx.root, "broken"));
  writeFileSync(join(nginx.root, "broken", "model.safetensors.index.json"), "{not json");
  mkdirSync(join(nginx.root, "nothing"));
});
afterAll(async () => {
  await nginx?.stop();
});

describe("models over http(s)", () => {
  it("load a sharded model from its directory or index URL exactly like the local directory", async () => {
    const local = await loadModel(join(dir, "sharded"), { keys: set });
    expect(Object.keys(local).sort()).toEqual(["a", "b", "c", "d"]);
    for (const url of [
      `${nginx.origin}/sharded/`,
      `${nginx.origin}/sharded`,
      new URL(`${nginx.origin}/sharded/model.safetensors.index.json`),
    ]) {
      const remote = await loadModel(url, { keys: set, requireBoundShards: true });
      for (const name of Object.keys(local))
        expect(Buffer.from(remote[name]!.data).equals(local[name]!.data)).toBe(true);
    }
    const model = await openModel(`${nginx.origin}/sharded/`, { keys: set, tensors: ["c"] });
    expect(model.shards.length).toBeGreaterThan(1);
    expect(Buffer.from((await model.getTensor("c")).data).equals(tensors.c.data)).toBe(true);
    await model.close();
    const verified = await verifyModel(`${nginx.origin}/sharded/`, { keys: set });
    expect(verified).toMatchObject({ signatureValid: true, bound: true });
    const described = await inspectModel(`${nginx.origin}/sharded/`);
    const localDescribed = await inspectModel(join(dir, "sharded"));
    expect(described.shards.map((s) => s.tensors)).toEqual(
      localDescribed.shards.map((s) => s.tensors),
    );
  });

  it("a directory without an index is a single model.safetensors; a file URL is a one-shard model", async () => {
    for (const url of [`${nginx.origin}/single/`, `${nginx.origin}/single/model.safetensors`]) {
      const loaded = await loadModel(url, { keys: set });
      expect(Buffer.from(loaded["a"]!.data).equals(tensors.a.data)).toBe(true);
    }
  });

  it("fails typed: missing model, broken index, private location without headers", async () => {
    await expectCode(loadModel(`${nginx.origin}/nothing/`, { keys: set }), "ERR_REMOTE_HTTP");
    await expectCode(loadModel(`${nginx.origin}/broken/`, { keys: set }), "ERR_MODEL_INVALID");
    const denied = await expectCode(
      loadModel(`${nginx.origin}/private/sharded/`, { keys: set }),
      "ERR_REMOTE_HTTP",
    );
    expect(denied.message).toContain("401");
    const loaded = await loadModel(`${nginx.origin}/private/sharded/`, {
      keys: set,
      remote: { headers: { authorization: `Bearer ${TOKEN}` } },
    });
    expect(Buffer.from(loaded["b"]!.data).equals(tensors.b.data)).toBe(true);
  });

  it("CLI inspect and verify take a model URL; decrypt of one is refused, not half-done", async () => {
    const keyFile = join(dir, "keys.json");
    writeFileSync(keyFile, JSON.stringify(set));
    const inspected = await runCli(["inspect", `${nginx.origin}/sharded/`]);
    expect(inspected.status, inspected.stderr).toBe(0);
    expect(inspected.stdout).toContain("index: model.safetensors.index.json");
    const index = `${nginx.origin}/sharded/model.safetensors.index.json`;
    const verified = await runCli(["verify", index, "--keys", keyFile]);
    expect(verified.status, verified.stderr).toBe(0);
    const decrypted = await runCli([
      "decrypt",
      `${nginx.origin}/sharded/`,
      join(dir, "out"),
      "--keys",
      keyFile,
    ]);
    expect(decrypted.status).toBe(1);
    expect(decrypted.stderr).toContain("ERR_NOT_SUPPORTED");
  });
});
