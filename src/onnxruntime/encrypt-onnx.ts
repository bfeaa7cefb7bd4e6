// encryptOnnx: an ONNX model (embedded initializers or external data) → a directory holding the
// graph with every initializer moved to external data, and one signed CryptoTensors file with the
// initializers, laid out so that one readAll({ into }) yields the external-data blob.
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CryptoTensorsError, NotSupportedError } from "../errors.js";
import { planLayout } from "../format/serialize.js";
import { inspectFile } from "../reader/inspect-file.js";
import { writeAtomically } from "../io/durable-file.js";
import type { EncryptionOptions } from "../writer/seal-plan.js";
import { writeModel, type Progress } from "../writer/write-model.js";
import { checkGraphShape, externalTensor, weightSites } from "./graph.js";
import { initializerSource, onnxError } from "./initializers.js";
import {
  type BlobSlot,
  blobLayout,
  GRAPH_DIGEST_KEY,
  GRAPH_FILE,
  GRAPH_WEIGHTS_KEY,
  graphDigest,
  WEIGHTS_FILE,
} from "./layout.js";
import { decodeModel, encodeModel } from "./onnx-proto.js";

export interface EncryptOnnxOptions {
  /** Keys, format version, chunk size and policy of the weights file; every initializer is encrypted. */
  encryption: Omit<EncryptionOptions, "tensors">;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

export interface EncryptOnnxResult {
  graphPath: string;
  weightsPath: string;
  /** Weights (initializers and Constant-node tensors) moved into the weights file. */
  tensors: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * Converts `modelPath` into `outDir/model.onnx` (the graph) and `outDir/model.safetensors` (its
 * initializers, encrypted and signed; the signed metadata binds the graph by its SHA-256).
 *
 * @example
 * ```ts
 * await encryptOnnx("det.onnx", "det-encrypted", { encryption: { encKey, signKey } });
 * const session = await createInferenceSession(ort, "det-encrypted", { keys });
 * ```
 */
export async function encryptOnnx(
  modelPath: string,
  outDir: string,
  options: EncryptOnnxOptions,
): Promise<EncryptOnnxResult> {
  if (typeof modelPath !== "string" || modelPath.length === 0)
    throw new TypeError("modelPath must be a non-empty string");
  if (typeof outDir !== "string" || outDir.length === 0)
    throw new TypeError("outDir must be a non-empty string");
  if (options?.encryption === null || typeof options?.encryption !== "object")
    throw new TypeError("options.encryption ({ encKey, signKey, ... }) is required");
  if ((options.encryption as EncryptionOptions).tensors !== undefined)
    throw new TypeError(
      "encryptOnnx encrypts every initializer; encryption.tensors is not accepted",
    );
  const modelDir = dirname(resolve(modelPath));
  if (resolve(outDir) === modelDir)
    throw new TypeError("outDir must not be the input model's own directory");

  const modelBytes = await readFile(modelPath).catch((cause: unknown) => {
    throw new CryptoTensorsError("ERR_IO", `cannot read the ONNX model ${modelPath}`, { cause });
  });
  const model = decodeModel(modelBytes, modelPath);
  if (model.metadataProps.some((p) => p.key === GRAPH_WEIGHTS_KEY))
    throw onnxError(`${modelPath} is already an encrypted model's graph; decrypt it first`);
  const graph = checkGraphShape(model, modelPath);
  const sites = weightSites(graph);
  const sources = sites.map((site) => initializerSource(site.name, site.tensor, modelDir));
  if (sources.length === 0)
    throw new NotSupportedError(
      `${modelPath} has no initializers or Constant tensors: there is nothing to encrypt`,
    );

  // The writer orders tensors by dtype rank then name; the blob follows that file order.
  const fileOrder = planLayout(sources).map((entry) => entry.name);
  const byName = new Map(sources.map((s) => [s.name, s]));
  const { slots } = blobLayout(fileOrder.map((name) => byName.get(name) as (typeof sources)[0]));
  const slotOf = new Map(slots.map((s) => [s.name, s]));
  // The decoded model is ours: point each weight at its slot in place, then encode the graph.
  for (const site of sites)
    site.replace(externalTensor(site.tensor, slotOf.get(site.name) as BlobSlot));
  model.metadataProps.push({ key: GRAPH_WEIGHTS_KEY, value: WEIGHTS_FILE });
  const graphBytes = encodeModel(model);

  await mkdir(outDir, { recursive: true });
  const weightsPath = join(outDir, WEIGHTS_FILE);
  const graphPath = join(outDir, GRAPH_FILE);
  await writeModel(weightsPath, sources, {
    metadata: [[GRAPH_DIGEST_KEY, graphDigest(graphBytes)]],
    encryption: options.encryption,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const written = (await inspectFile(weightsPath)).tensors.map((t) => t.name);
    if (written.join("\0") !== fileOrder.join("\0"))
      throw new CryptoTensorsError(
        "ERR_INTERNAL",
        "the weights file's tensor order is not the planned one",
      );
    await writeAtomically(graphPath, (out) => out.write(graphBytes, 0));
  } catch (error) {
    await rm(weightsPath, { force: true });
    throw error;
  }
  return {
    graphPath,
    weightsPath,
    tensors: sources.length,
    bytes: sources.reduce((sum, s) => sum + s.byteLength, 0),
  };
}
