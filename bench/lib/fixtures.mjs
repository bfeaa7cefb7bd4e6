// Files the scenarios measure, written with the package's own writer into a temporary directory:
// one large v2 AES-256-GCM tensor (and its plaintext twin), and a Qwen3-0.6B-shaped model.
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { benchKeys, fillPattern } from "./common.mjs";
import { rewarmPageCache } from "./page-cache.mjs";

/** Qwen3-0.6B: hidden 1024, intermediate 3072, 28 layers, vocab 151936, 16 query / 8 KV heads of 128, F16, tied embeddings (~1.19 GB, 310 tensors).
 * `layers` < 28 keeps the first layers only (quick runs).
 * @returns {Array<[string, number[]]>}
 */
export function qwen3Shapes(layers = 28) {
  const hidden = 1024,
    inter = 3072,
    vocab = 151936,
    heads = 16,
    kvHeads = 8,
    headDim = 128;
  /** @type {Array<[string, number[]]>} */
  const shapes = [["model.embed_tokens.weight", [vocab, hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [hidden]],
      [`${p}mlp.down_proj.weight`, [hidden, inter]],
      [`${p}mlp.gate_proj.weight`, [inter, hidden]],
      [`${p}mlp.up_proj.weight`, [inter, hidden]],
      [`${p}post_attention_layernorm.weight`, [hidden]],
      [`${p}self_attn.k_norm.weight`, [headDim]],
      [`${p}self_attn.k_proj.weight`, [kvHeads * headDim, hidden]],
      [`${p}self_attn.o_proj.weight`, [hidden, heads * headDim]],
      [`${p}self_attn.q_norm.weight`, [headDim]],
      [`${p}self_attn.q_proj.weight`, [heads * headDim, hidden]],
      [`${p}self_attn.v_proj.weight`, [kvHeads * headDim, hidden]],
    );
  }
  // Qwen3-0.6B ties lm_head to the embedding: no separate lm_head.weight in its checkpoint.
  shapes.push(["model.norm.weight", [hidden]]);
  return shapes;
}

/** The Qwen3-shaped tensors in F16 (or F32: twice the bytes), pattern-filled, and their total bytes. */
export function qwen3Tensors(layers = 28, /** @type {"F16" | "F32"} */ dtype = "F16") {
  /** @type {Record<string, import("../../dist/index.js").TensorInput & { data: Uint8Array }>} */
  const tensors = {};
  let bytes = 0;
  const elementBytes = dtype === "F32" ? 4 : 2;
  for (const [name, shape] of qwen3Shapes(layers)) {
    const length = shape.reduce((a, b) => a * b, 1) * elementBytes;
    tensors[name] = { dtype, shape, data: fillPattern(new Uint8Array(length)) };
    bytes += length;
  }
  return { tensors, bytes };
}

/** Writes the Qwen3-shaped model encrypted (v2, AES-256-GCM, 2 MiB chunks) and plain; returns paths, keys and bytes. */
export async function writeQwen3(api, dir, layers = 28) {
  const { tensors, bytes } = qwen3Tensors(layers);
  const keys = benchKeys(api);
  const encrypted = join(dir, "qwen3-encrypted.safetensors");
  const plain = join(dir, "qwen3-plain.safetensors");
  await api.saveFile(encrypted, tensors, { encryption: keys.encryption });
  await api.saveFile(plain, tensors);
  // Cached alike, in 2 MiB folios: read back with read(2) a file's cache is a mix of folio sizes
  // that depends on free memory then, and reads at up to ~3 x the kernel time (page-cache.mjs).
  rewarmPageCache([encrypted, plain], { hugeFolios: true });
  return { encrypted, plain, keys, bytes, count: Object.keys(tensors).length };
}

/** One `bytes`-long U8 tensor "w", encrypted (v2 AES-256-GCM, 2 MiB chunks) and plain. */
export async function writeBigTensor(api, dir, bytes) {
  const data = fillPattern(new Uint8Array(bytes));
  const keys = benchKeys(api);
  const encrypted = join(dir, "big-encrypted.safetensors");
  const plain = join(dir, "big-plain.safetensors");
  await api.saveFile(
    encrypted,
    { w: { dtype: "U8", shape: [bytes], data } },
    { encryption: keys.encryption },
  );
  await api.saveFile(plain, { w: { dtype: "U8", shape: [bytes], data } });
  rewarmPageCache([encrypted, plain], { hugeFolios: true });
  return { encrypted, plain, keys, bytes, data };
}

/**
 * `data` sealed in memory as v2 AES-256-GCM chunks under a fresh random key (by the addon; the
 * baselines check every tag, so a wrong ciphertext cannot go unnoticed): the input of the
 * baselines that decrypt in memory (node:crypto, noble, WebCrypto).
 */
export async function sealInMemory(api, data, chunkSize) {
  const key = randomBytes(32);
  const baseIv = randomBytes(12);
  baseIv.writeUInt32BE(0, 8);
  const chunks = Math.ceil(data.length / chunkSize);
  const ciphertext = Buffer.alloc(data.length);
  const tags = Buffer.alloc(chunks * 16);
  if ((await api.binding.seal(1, key, baseIv, 0, chunkSize, data, ciphertext, tags)) !== 0)
    throw new Error("seal failed");
  const ivOf = (i) => {
    const iv = Buffer.from(baseIv);
    iv.writeUInt32BE(i, 8);
    return iv;
  };
  return { ciphertext, tags, key, baseIv, ivOf, chunkSize };
}
