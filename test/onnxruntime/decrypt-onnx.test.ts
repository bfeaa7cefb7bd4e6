// decryptOnnx / decrypt-onnx: back to a plain ONNX model with the same graph and weights, which
// onnxruntime loads from disk and runs bit for bit like the original.
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { generateKeys } from "../../src/index.js";
import { weightSites } from "../../src/onnxruntime/graph.js";
import { decryptOnnx, encryptOnnx } from "../../src/onnxruntime/index.js";
import { initializerSource } from "../../src/onnxruntime/initializers.js";
import { decodeModel, type GraphProto, onnx } from "../../src/onnxruntime/onnx-proto.js";
import { runCli } from "../cli/run-cli.js";
import { tempDir } from "../integration/helpers.js";
import { SMALL_IN_FEATURES, SMALL_INPUT, SMALL_OUTPUT, writeSmallModel } from "./small-model.js";

const dir = tempDir("ct-decrypt-onnx-");
const keys = generateKeys();
const [encKey, signKey] = keys.keys;

/** The graph with every weight reduced to name, dtype and dims, and each weight's bytes. */
async function anatomy(path: string) {
  const model = decodeModel(await readFile(path), path);
  const graph = model.graph as GraphProto;
  const weights: Record<string, string> = {};
  for (const site of weightSites(graph)) {
    const source = initializerSource(site.name, site.tensor, dirname(path));
    const bytes = await source.read(0, source.byteLength, new Uint8Array(source.byteLength));
    weights[site.name] = Buffer.from(bytes).toString("hex");
    site.replace({
      name: site.tensor.name ?? null,
      dataType: site.tensor.dataType ?? 0,
      dims: site.tensor.dims ?? [],
    });
  }
  const structure = onnx.GraphProto.toObject(graph as InstanceType<typeof onnx.GraphProto>, {
    longs: String,
    bytes: String,
  });
  return { structure, weights, opset: model.opsetImport };
}

async function outputOf(session: ort.InferenceSession): Promise<Buffer> {
  const x = new ort.Tensor(
    "float32",
    Float32Array.from({ length: 2 * SMALL_IN_FEATURES }, (_, i) => i / 7),
    [2, SMALL_IN_FEATURES],
  );
  const y = (await session.run({ [SMALL_INPUT]: x }))[SMALL_OUTPUT]?.data as Float32Array;
  return Buffer.from(y.buffer, y.byteOffset, y.byteLength);
}

describe("decryptOnnx", () => {
  for (const external of [false, true]) {
    it(`restores the graph and weights (${external ? "external data" : "embedded"})`, async () => {
      const model = await writeSmallModel(dir, `d-${external}.onnx`, { external, seed: 5 });
      const enc = join(dir, `d-enc-${external}`);
      const plain = join(dir, `d-plain-${external}`);
      await encryptOnnx(model, enc, { encryption: { encKey, signKey } });
      const result = await decryptOnnx(enc, plain, { keys });
      expect(result.dataPath).toBe(join(plain, "model.onnx_data"));
      expect(await anatomy(result.graphPath)).toEqual(await anatomy(model));
      const restored = await ort.InferenceSession.create(result.graphPath);
      expect(await outputOf(restored)).toEqual(
        await outputOf(await ort.InferenceSession.create(model)),
      );
    });
  }

  it("writes plaintext outputs no more readable than the encrypted weights (0600 stays 0600)", async () => {
    const model = await writeSmallModel(dir, "d-mode.onnx", { external: true, seed: 6 });
    const enc = join(dir, "d-enc-mode");
    const plain = join(dir, "d-plain-mode");
    await encryptOnnx(model, enc, { encryption: { encKey, signKey } });
    await chmod(join(enc, "model.safetensors"), 0o600);
    const result = await decryptOnnx(enc, plain, { keys });
    expect((await stat(result.graphPath)).mode & 0o777).toBe(0o600);
    expect((await stat(result.dataPath as string)).mode & 0o777).toBe(0o600);
  });

  it("runs from the CLI, and refuses wrong keys without writing anything", async () => {
    const model = await writeSmallModel(dir, "cli.onnx");
    const enc = join(dir, "cli-enc");
    await encryptOnnx(model, enc, { encryption: { encKey, signKey } });
    const keygen = await runCli(["keygen"]);
    const right = join(dir, "right.json");
    await writeFile(right, keygen.stdout);
    const enc2 = join(dir, "cli-enc2");
    expect((await runCli(["encrypt-onnx", model, enc2, "--keys", right, "--quiet"])).status).toBe(
      0,
    );
    const ok = await runCli(["decrypt-onnx", enc2, join(dir, "cli-plain"), "--keys", right]);
    expect(ok.stderr).toMatch(/decrypt-onnx: .*model\.onnx \+ .*model\.onnx_data/);
    expect(ok.status).toBe(0);
    const restored = await ort.InferenceSession.create(join(dir, "cli-plain", "model.onnx"));
    expect(await outputOf(restored)).toEqual(
      await outputOf(await ort.InferenceSession.create(model)),
    );

    const wrong = join(dir, "wrong.json");
    await writeFile(wrong, (await runCli(["keygen"])).stdout);
    const denied = await runCli(["decrypt-onnx", enc, join(dir, "cli-denied"), "--keys", wrong]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/ERR_/);
    await expect(readFile(join(dir, "cli-denied", "model.onnx"))).rejects.toThrow();
  });
});
