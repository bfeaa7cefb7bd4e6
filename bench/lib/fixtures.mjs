// Files the scenarios measure, written with the package's own writer into a temporary directory:
// one large v2 AES-256-GCM tensor (and its plaintext twin), and a Qwen3-0.6B-shaped model.
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { benchKeys, fillPattern } from "./common.mjs";

/** Qwen3-0.6B: hidden 1024, intermediate 3072, 28 layers, vocab 151936, 16 query / 8 KV heads of 128, F16, tied embeddings (~1.19 GB, 310 tensors). */
export function qwen3Shapes() {
  const hidden = 1024, inter = 3072, layers = 28, vocab = 151936, heads = 16, kvHeads = 8, headDim = 128;
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

/** Writes the Qwen3-shaped model encrypted (v2, AES-256-GCM, 2 MiB chunks) and plain; returns paths, keys and bytes. */
export async function writeQwen3(api, dir) {
  const tensors = {};
  let bytes = 0;
  for (const [name, shape] of qwen3Shapes()) {
    const length = shape.reduce((a, b) => a * b, 1) * 2;
    tensors[name] = { dtype: "F16", shape, data: fillPattern(new Uint8Array(length)) };
    bytes += length;
  }
  const keys = benchKeys(api);
  const encrypted = join(dir, "qwen3-encrypted.safetensors");
  const plain = join(dir, "qwen3-plain.safetensors");
  await api.saveFile(encrypted, tensors, { encryption: keys.encryption });
  await api.saveFile(plain, tensors);
  return { encrypted, plain, keys, bytes, count: Object.keys(tensors).length };
}

/** One `bytes`-long U8 tensor "w", encrypted (v2 AES-256-GCM, 2 MiB chunks) and plain. */
export async function writeBigTensor(api, dir, bytes) {
  const data = fillPattern(new Uint8Array(bytes));
  const keys = benchKeys(api);
  const encrypted = join(dir, "big-encrypted.safetensors");
  const plain = join(dir, "big-plain.safetensors");
  await api.saveFile(encrypted, { w: { dtype: "U8", shape: [bytes], data } }, { encryption: keys.encryption });
  await api.saveFile(plain, { w: { dtype: "U8", shape: [bytes], data } });
  return { encrypted, plain, keys, bytes, data };
}

/**
 * The ciphertext, tags, data key and IVs of tensor "w" of an encrypted file, for the baselines
 * that decrypt in memory (node:crypto, noble, WebCrypto). The data key comes from the package's
 * own unwrap (an internal module), so the baselines decrypt exactly the bytes we do.
 */
export async function extractSealed(api, path, keys) {
  const file = await api.openFile(path, { keys: keys.set });
  try {
    const info = file.encryption();
    const { unlocked, header } = internals(file);
    const sealed = unlocked.tensors.get("w");
    const entry = header.tensors.find((t) => t.name === "w");
    const start = header.dataStart + entry.dataOffsets[0];
    const length = entry.dataOffsets[1] - entry.dataOffsets[0];
    const ciphertext = readFileSync(path).subarray(start, start + length);
    const baseIv = Buffer.from(sealed.entry.baseIv);
    const ivOf = (i) => {
      const iv = Buffer.from(baseIv);
      iv.writeUInt32BE((iv.readUInt32BE(8) + i) >>> 0, 8);
      return iv;
    };
    return { ciphertext, tags: Buffer.from(sealed.entry.tags), key: Buffer.from(sealed.dataKey), baseIv, ivOf, chunkSize: info.chunkSize };
  } finally {
    await file.close();
  }
}

// TensorFile keeps its header and unlocked keys in private (TypeScript-only) fields.
function internals(file) {
  return { unlocked: file.unlocked, header: file.header };
}
