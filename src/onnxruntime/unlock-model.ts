// Opening an encrypted ONNX model: find the graph and its weights file, verify the weights file
// (signature, policy over every weight), check the graph against the digest signed into it and
// against the file's tensors, then decrypt every weight into one arena laid out as the graph's
// external-data blob. Used by createInferenceSession and decryptOnnx.
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { openFile, type LoadOptions } from "../reader/open-file.js";
import { checkGraphShape, type GraphSlot, graphSlots, inlineTensor } from "./graph.js";
import { onnxError } from "./initializers.js";
import {
  blobLayout,
  GRAPH_DIGEST_KEY,
  GRAPH_FILE,
  GRAPH_WEIGHTS_KEY,
  graphDigest,
  INLINE_MAX_BYTES,
} from "./layout.js";
import { decodeModel, encodeModel, type ModelProto } from "./onnx-proto.js";

/** Where an encrypted model's graph and weights file are, and the graph itself. */
export interface EncryptedModelPaths {
  graphPath: string;
  weightsPath: string;
  graphBytes: Uint8Array;
  model: ModelProto;
}

/** An encrypted model whose weights are decrypted into `arena`; the caller wipes the arena. */
export interface UnlockedModel extends EncryptedModelPaths {
  slots: GraphSlot[];
  arena: Uint8Array;
}

/**
 * Finds the graph (a directory's `model.onnx`, or the path itself) and the weights file it names.
 *
 * @example
 * ```ts
 * const { weightsPath } = await locateModel("det-encrypted");
 * ```
 */
export async function locateModel(dirOrModelPath: string): Promise<EncryptedModelPaths> {
  if (typeof dirOrModelPath !== "string" || dirOrModelPath.length === 0)
    throw new TypeError("dirOrModelPath must be a non-empty string");
  const info = await stat(dirOrModelPath).catch((cause: unknown) => {
    throw new CryptoTensorsError(
      "ERR_IO",
      `cannot find the encrypted model ${dirOrModelPath}; pass the directory encrypt-onnx wrote`,
      { cause },
    );
  });
  const graphPath = info.isDirectory() ? join(dirOrModelPath, GRAPH_FILE) : dirOrModelPath;
  const graphBytes = await readFile(graphPath).catch((cause: unknown) => {
    throw new CryptoTensorsError("ERR_IO", `cannot read the graph ${graphPath}`, { cause });
  });
  const model = decodeModel(graphBytes, graphPath);
  const weights = model.metadataProps.find((p) => p.key === GRAPH_WEIGHTS_KEY)?.value;
  if (!weights)
    throw onnxError(`${graphPath} is not the graph of an encrypted model (made by encrypt-onnx)`);
  if (weights !== basename(weights) || weights === "." || weights === "..")
    throw onnxError(
      `${graphPath} names its weights file ${JSON.stringify(weights)}, which is not a plain file name`,
    );
  return { graphPath, weightsPath: join(dirname(graphPath), weights), graphBytes, model };
}

/**
 * Verifies an encrypted model and decrypts all its weights into one arena (the external-data
 * blob). The arena is wiped here if anything fails; on success the caller owns and wipes it.
 */
export async function unlockModel(
  dirOrModelPath: string,
  options: Omit<LoadOptions, "tensors">,
): Promise<UnlockedModel> {
  if ((options as { tensors?: unknown }).tensors !== undefined)
    throw new TypeError("every weight of the graph is read; options.tensors is not accepted");
  const { onProgress, signal, ...openOptions } = options;
  const located = await locateModel(dirOrModelPath);
  const { graphPath, weightsPath, graphBytes, model } = located;
  const slots = graphSlots(checkGraphShape(model, graphPath), graphPath);
  const file = await openFile(weightsPath, {
    // The signature is what binds the graph to the weights: a plain weights file binds nothing.
    requireEncrypted: true,
    ...openOptions,
    tensors: slots.map((s) => s.name),
  });
  let arena: Uint8Array | null = null;
  try {
    if (file.metadata()[GRAPH_DIGEST_KEY] !== graphDigest(graphBytes)) {
      throw new CryptoTensorsError(
        "ERR_SIGNATURE_INVALID",
        `${graphPath} is not the graph signed into ${weightsPath} (altered, or from another conversion); convert the model again`,
      );
    }
    const blob = blobLayout(file.names().map((name) => ({ name, ...file.info(name) })));
    const bySlot = new Map(blob.slots.map((s) => [s.name, s]));
    for (const slot of slots) {
      const expected = bySlot.get(slot.name);
      if (
        !expected ||
        expected.offset !== slot.offset ||
        expected.length !== slot.length ||
        expected.dtype !== slot.dtype ||
        expected.shape.join(",") !== slot.shape.join(",")
      ) {
        throw onnxError(
          `${graphPath}: weight ${JSON.stringify(slot.name)} does not match its tensor in ${weightsPath}`,
        );
      }
    }
    arena = new Uint8Array(blob.byteLength);
    await file.readAll({
      into: arena,
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    return { ...located, slots, arena };
  } catch (error) {
    arena?.fill(0);
    throw error;
  } finally {
    await file.close();
  }
}

/**
 * The graph with weights of at most {@link INLINE_MAX_BYTES} carrying their bytes from `arena`
 * as raw_data (onnxruntime's shape inference cannot read shape inputs from external data); the
 * rest keep pointing into the blob. The result holds plaintext: the caller wipes it.
 */
export function withSmallWeightsInline(
  model: ModelProto,
  slots: readonly GraphSlot[],
  arena: Uint8Array,
): Uint8Array {
  for (const slot of slots) {
    if (slot.length <= INLINE_MAX_BYTES)
      slot.site.replace(
        inlineTensor(slot.site.tensor, arena.subarray(slot.offset, slot.offset + slot.length)),
      );
  }
  return encodeModel(model);
}
