// Shared by the model-directory tests: small random models, key sets and index editing.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeySet, type TensorInput } from "../../src/index.js";

export type Keys = ReturnType<typeof generateKeySet>;

/** A key set and the matching encryption options. */
export function keysAndEncryption(kids: { encKid?: string; signKid?: string } = {}) {
  const keys = generateKeySet({
    encKid: kids.encKid ?? "enc-1",
    signKid: kids.signKid ?? "sign-1",
  });
  return { keys, encryption: { encKey: keys.keys[0], signKey: keys.keys[1], chunkSize: 4096 } };
}

/** `count` F32 tensors of `elements` random values each, named like a transformer's layers. */
export function randomModel(
  count: number,
  elements: number,
): Record<string, TensorInput & { data: Uint8Array }> {
  const tensors: Record<string, TensorInput & { data: Uint8Array }> = {};
  for (let i = 0; i < count; i++) {
    tensors[`model.layers.${i}.mlp.weight`] = {
      dtype: "F32",
      shape: [elements],
      data: new Uint8Array(randomBytes(elements * 4)),
    };
  }
  return tensors;
}

export const INDEX = "model.safetensors.index.json";

/** Reads, edits and writes back a model's index JSON. */
export function editIndex(
  dir: string,
  edit: (index: { metadata: Record<string, unknown>; weight_map: Record<string, string> }) => void,
): void {
  const path = join(dir, INDEX);
  const index = JSON.parse(readFileSync(path, "utf8"));
  edit(index);
  writeFileSync(path, JSON.stringify(index, null, 2));
}
