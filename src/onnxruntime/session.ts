// createInferenceSession: verifies an encrypted ONNX model, decrypts its initializers into one
// arena that is the graph's external-data blob, hands both to onnxruntime, and wipes the arena
// once the session exists (onnxruntime copies external data it is given in memory).
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { openFile, type LoadOptions } from "../reader/open-file.js";
import { checkGraphShape, type GraphSlot, graphSlots, inlineTensor } from "./graph.js";
import { onnxError } from "./initializers.js";
import {
  blobLayout,
  EXTERNAL_LOCATION,
  GRAPH_DIGEST_KEY,
  GRAPH_FILE,
  GRAPH_WEIGHTS_KEY,
  graphDigest,
  INLINE_MAX_BYTES,
} from "./layout.js";
import { decodeModel, encodeModel, type ModelProto } from "./onnx-proto.js";

/** The part of the `onnxruntime-node` module this adapter uses (pass the module itself). */
export interface OrtModule<Session> {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<Session>;
  };
}

export interface CreateSessionOptions extends Omit<LoadOptions, "tensors"> {
  /** onnxruntime `InferenceSession.SessionOptions` (execution providers, threads, ...); `externalData` is set here. */
  sessionOptions?: Record<string, unknown>;
}

/** A verified encrypted model directory: its graph bytes and weights file. */
export interface EncryptedModelPaths {
  graphPath: string;
  weightsPath: string;
  graphBytes: Uint8Array;
  model: ModelProto;
}

/**
 * Creates an onnxruntime session from a model written by {@link encryptOnnx}: checks the weights
 * file's signature and policy (the policy sees every initializer as a requested tensor), checks
 * the graph against the digest signed into the weights, decrypts all initializers into one arena,
 * creates the session and wipes the arena.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-node";
 * const session = await createInferenceSession(ort, "det-encrypted", { keys: jwks });
 * const outputs = await session.run({ x: new ort.Tensor("float32", pixels, [1, 3, 64, 64]) });
 * ```
 */
export async function createInferenceSession<Session>(
  ort: OrtModule<Session>,
  dirOrModelPath: string,
  options: CreateSessionOptions = {},
): Promise<Session> {
  if (typeof ort?.InferenceSession?.create !== "function")
    throw new TypeError(
      'ort must be the onnxruntime-node module (import * as ort from "onnxruntime-node")',
    );
  if ((options as { tensors?: unknown }).tensors !== undefined)
    throw new TypeError(
      "createInferenceSession reads every initializer of the graph; options.tensors is not accepted",
    );
  const { sessionOptions = {}, onProgress, signal, ...openOptions } = options;
  if ((sessionOptions as { externalData?: unknown }).externalData !== undefined)
    throw new TypeError(
      "sessionOptions.externalData is set by createInferenceSession; leave it out",
    );
  const { graphPath, weightsPath, graphBytes, model } = await locateModel(dirOrModelPath);
  const slots = graphSlots(checkGraphShape(model, graphPath), graphPath);

  const file = await openFile(weightsPath, {
    requireEncrypted: true,
    ...openOptions,
    tensors: slots.map((s) => s.name),
  });
  let arena: ArrayBuffer | null = null;
  let loaded: Uint8Array | null = null;
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
          `${graphPath}: initializer ${JSON.stringify(slot.name)} does not match its tensor in ${weightsPath}`,
        );
      }
    }
    arena = new ArrayBuffer(blob.byteLength);
    await file.readAll({
      into: arena,
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    await file.close();
    loaded = withSmallWeightsInline(model, slots, new Uint8Array(arena));
    return await ort.InferenceSession.create(loaded, {
      ...sessionOptions,
      externalData: [{ path: EXTERNAL_LOCATION, data: new Uint8Array(arena) }],
    });
  } finally {
    // onnxruntime has copied what it keeps; no decrypted byte outlives session creation here.
    if (arena) new Uint8Array(arena).fill(0);
    loaded?.fill(0);
    await file.close();
  }
}

/**
 * The graph as onnxruntime gets it: weights of at most {@link INLINE_MAX_BYTES} carry their
 * decrypted bytes as raw_data, the rest keep pointing into the arena.
 */
function withSmallWeightsInline(
  model: ModelProto,
  slots: GraphSlot[],
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
