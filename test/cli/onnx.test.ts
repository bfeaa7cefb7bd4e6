// The encrypt-onnx command, run as a user would (node dist/cli/main.js).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { parseKeySet } from "../../src/index.js";
import { createInferenceSession } from "../../src/onnxruntime/index.js";
import { tempDir } from "../integration/helpers.js";
import {
  SMALL_IN_FEATURES,
  SMALL_INPUT,
  SMALL_OUTPUT,
  writeSmallModel,
} from "../onnxruntime/small-model.js";
import { runCli } from "./run-cli.js";

const dir = tempDir("ct-cli-onnx-");

describe("cryptotensors encrypt-onnx", () => {
  it("writes a model that createInferenceSession runs like the original", async () => {
    const keygen = await runCli(["keygen"]);
    expect(keygen.status).toBe(0);
    writeFileSync(join(dir, "k.json"), keygen.stdout);
    const model = await writeSmallModel(dir, "m.onnx", { external: true });
    const out = join(dir, "enc");
    const run = await runCli(["encrypt-onnx", model, out, "--keys", join(dir, "k.json")]);
    expect(run.stderr).toMatch(/4 weights .* → .*model\.safetensors/);
    expect(run.status).toBe(0);

    const keys = parseKeySet(JSON.parse(keygen.stdout));
    const session = await createInferenceSession(ort, out, { keys });
    const plain = await ort.InferenceSession.create(model);
    const x = new ort.Tensor("float32", new Float32Array(2 * SMALL_IN_FEATURES).fill(0.5), [
      2,
      SMALL_IN_FEATURES,
    ]);
    const a = (await session.run({ [SMALL_INPUT]: x }))[SMALL_OUTPUT]?.data as Float32Array;
    const b = (await plain.run({ [SMALL_INPUT]: x }))[SMALL_OUTPUT]?.data as Float32Array;
    expect(Buffer.from(a.buffer)).toEqual(Buffer.from(b.buffer));
  });

  it("reports usage errors and typed failures", async () => {
    expect((await runCli(["encrypt-onnx", "only-one"])).status).toBe(2);
    const missing = await runCli(["encrypt-onnx", join(dir, "absent.onnx"), join(dir, "o")], {
      CRYPTOTENSOR_KEYS: (await runCli(["keygen"])).stdout,
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ERR_IO: cannot read the ONNX model/);
  });
});
