// createInferenceSession: verifies an encrypted ONNX model, decrypts its weights into one arena
// that is the graph's external-data blob, hands both to onnxruntime, and wipes the arena once the
// session exists (onnxruntime copies the external data it is given in memory; the PaddleOCR
// test would read zeros otherwise).
import type { LoadOptions } from "../reader/open-file.js";
import { EXTERNAL_LOCATION } from "./layout.js";
import { unlockModel, withSmallWeightsInline } from "./unlock-model.js";

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

/**
 * Creates an onnxruntime session from a model written by {@link encryptOnnx}: checks the weights
 * file's signature and policy (the policy sees every weight as a requested tensor), checks the
 * graph against the digest signed into the weights, decrypts all weights into one arena, creates
 * the session and wipes the arena.
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
  const { sessionOptions = {}, ...loadOptions } = options;
  if ((sessionOptions as { externalData?: unknown }).externalData !== undefined)
    throw new TypeError(
      "sessionOptions.externalData is set by createInferenceSession; leave it out",
    );
  const { model, slots, arena } = await unlockModel(dirOrModelPath, loadOptions);
  let loaded: Uint8Array | null = null;
  try {
    loaded = withSmallWeightsInline(model, slots, arena);
    return await ort.InferenceSession.create(loaded, {
      ...sessionOptions,
      externalData: [{ path: EXTERNAL_LOCATION, data: arena }],
    });
  } finally {
    // onnxruntime has copied what it keeps; no decrypted byte outlives session creation here.
    arena.fill(0);
    loaded?.fill(0);
  }
}
