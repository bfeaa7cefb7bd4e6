// decryptOnnx: an encrypted model directory back to a plain ONNX model, for debugging: the same
// graph and weights, small weights inline and the rest in `model.onnx_data`, the layout the onnx
// package writes and onnxruntime loads from disk.
import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeAtomically } from "../io/durable-file.js";
import type { LoadOptions } from "../reader/open-file.js";
import { EXTERNAL_LOCATION, GRAPH_FILE, GRAPH_WEIGHTS_KEY, INLINE_MAX_BYTES } from "./layout.js";
import { unlockModel, withSmallWeightsInline } from "./unlock-model.js";

export interface DecryptOnnxResult {
  graphPath: string;
  /** The external-data file, or null when every weight fit inline. */
  dataPath: string | null;
}

/**
 * Verifies and decrypts a model written by {@link encryptOnnx} into `outDir/model.onnx` (+
 * `outDir/model.onnx_data`), a plain ONNX model with the original graph and weights.
 *
 * @example
 * ```ts
 * await decryptOnnx("det-encrypted", "det-plain", { keys: jwks });
 * const session = await ort.InferenceSession.create("det-plain/model.onnx");
 * ```
 */
export async function decryptOnnx(
  dirOrModelPath: string,
  outDir: string,
  options: Omit<LoadOptions, "tensors"> = {},
): Promise<DecryptOnnxResult> {
  if (typeof outDir !== "string" || outDir.length === 0)
    throw new TypeError("outDir must be a non-empty string");
  const unlocked = await unlockModel(dirOrModelPath, options);
  const { model, slots, arena } = unlocked;
  let graph: Uint8Array | null = null;
  try {
    if (resolve(outDir) === resolve(unlocked.graphPath, ".."))
      throw new TypeError("outDir must not be the encrypted model's own directory");
    model.metadataProps = model.metadataProps.filter((p) => p.key !== GRAPH_WEIGHTS_KEY);
    graph = withSmallWeightsInline(model, slots, arena);
    const external = slots.some((s) => s.length > INLINE_MAX_BYTES);
    await mkdir(outDir, { recursive: true });
    const graphPath = join(outDir, GRAPH_FILE);
    const dataPath = join(outDir, EXTERNAL_LOCATION);
    // Plaintext weights are never more readable than the encrypted file they came from.
    const mode = 0o644 & (await stat(unlocked.weightsPath)).mode;
    // The blob first, then the graph that points into it: a graph is never left without its data.
    if (external) await writeAtomically(dataPath, (out) => out.write(arena, 0), { mode });
    else await rm(dataPath, { force: true });
    await writeAtomically(graphPath, (out) => out.write(graph as Uint8Array, 0), { mode });
    return { graphPath, dataPath: external ? dataPath : null };
  } finally {
    arena.fill(0);
    graph?.fill(0);
  }
}
