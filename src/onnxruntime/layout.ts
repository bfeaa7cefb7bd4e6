// The on-disk form of an encrypted ONNX model: a directory with the graph (`model.onnx`, every
// initializer pointing at external data) and one CryptoTensors file with the initializers.
// The graph's external offsets are exactly the offsets `readAll({ into })` writes each tensor at,
// so the decrypted arena IS the external-data blob: no reassembly copy.
import { createHash } from "node:crypto";
import type { Dtype } from "../format/dtype.js";
import { arenaLayout } from "../reader/read-all.js";

/** File name of the graph inside an encrypted model directory. */
export const GRAPH_FILE = "model.onnx";
/** File name of the CryptoTensors weights inside an encrypted model directory. */
export const WEIGHTS_FILE = "model.safetensors";
/**
 * The external-data location the graph names. No such file exists beside an encrypted model, so
 * onnxruntime given the bare graph fails loudly instead of reading ciphertext as weights.
 */
export const EXTERNAL_LOCATION = "model.onnx_data";
/** Graph `metadata_props` key naming the weights file (marks a graph made by encryptOnnx). */
export const GRAPH_WEIGHTS_KEY = "cryptotensors.weights";
/** Signed weights-file metadata: SHA-256 (hex) of the graph file, binding the graph to the weights. */
export const GRAPH_DIGEST_KEY = "onnx.graph_sha256";

/** Where each initializer sits in the external-data blob. */
export interface BlobSlot {
  name: string;
  dtype: Dtype;
  shape: number[];
  offset: number;
  length: number;
}

/**
 * Lays out tensors given in file order the way `readAll({ into })` does (64-byte aligned).
 *
 * @example
 * ```ts
 * blobLayout([{ name: "w", dtype: "F32", shape: [3], byteLength: 12 }]).byteLength; // 12
 * ```
 */
export function blobLayout(
  tensors: ReadonlyArray<{
    name: string;
    dtype: Dtype;
    shape: readonly number[];
    byteLength: number;
  }>,
): { slots: BlobSlot[]; byteLength: number } {
  const { offsets, byteLength } = arenaLayout(tensors.map((t) => t.byteLength));
  const slots = tensors.map((t, i) => ({
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    offset: offsets[i] as number,
    length: t.byteLength,
  }));
  return { slots, byteLength };
}

/** Hex SHA-256 of the graph file's bytes. */
export function graphDigest(graphBytes: Uint8Array): string {
  return createHash("sha256").update(graphBytes).digest("hex");
}

/**
 * Initializers up to this size are handed to onnxruntime inside the (in-memory) graph rather than
 * as external data: ONNX shape inference, which onnxruntime runs while loading, cannot read
 * external data ("Cannot parse data from external tensors"), and shape inputs (Reshape, Slice,
 * Resize, ...) are small. On disk they are encrypted like every other initializer. 1024 bytes is
 * the `size_threshold` the onnx package itself uses when it moves tensors to external data.
 */
export const INLINE_MAX_BYTES = 1024;
