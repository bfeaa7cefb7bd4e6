// saveModel: tensors in memory → a Hugging Face model directory, split into shards the way
// huggingface_hub splits a state dict (in the given order; a new shard when the next tensor would
// pass maxShardSize; a tensor larger than that alone in its own shard), named
// `model-0000i-of-0000N.safetensors` with `model.safetensors.index.json`, or one
// `model.safetensors` when everything fits. Encrypted models are bound (binding.ts).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isDtype } from "../format/dtype.js";
import { tensorByteLength } from "../format/size.js";
import { shardEncryption, type EncryptionOptions } from "../writer/seal-plan.js";
import { saveFile, type SaveOptions, type TensorInput } from "../writer/save-file.js";
import type { Progress } from "../writer/write-model.js";
import {
  indexMetadata,
  manifestDigest,
  newSetId,
  shardBindingFields,
  type ManifestShard,
} from "./binding.js";
import { serializeShardIndex } from "./index-json.js";
import { writeDirectoryAtomically } from "./model-dir.js";

/** transformers' default `max_shard_size` ("5GB"). */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

export interface SaveModelOptions {
  /** Largest shard in bytes of tensor data (default 5 GB, as transformers). */
  maxShardSize?: number;
  /** Shard metadata (default `{ format: "pt" }`, which transformers requires). */
  metadata?: Readonly<Record<string, string>>;
  /** Encrypt, sign and bind every shard; see {@link EncryptionOptions}. */
  encryption?: EncryptionOptions;
  /** Base name of the weight files (default "model"). */
  weightsName?: string;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** The planned shards: file name and tensor names. */
export interface ShardPlan {
  file: string;
  names: string[];
  byteLength: number;
}

/**
 * Writes `tensors` as a model directory at `dir` (which must not exist, or be empty), atomically.
 *
 * @example
 * ```ts
 * await saveModel("out-model", tensors, { maxShardSize: 2e9, encryption: { encKey, signKey } });
 * ```
 */
export async function saveModel(
  dir: string,
  tensors: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
  options: SaveModelOptions = {},
): Promise<void> {
  if (typeof dir !== "string" || dir.length === 0)
    throw new TypeError("dir must be a non-empty string");
  if (tensors === null || typeof tensors !== "object")
    throw new TypeError("tensors must be an object or a Map of name → { dtype, shape, data }");
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const byName = new Map(entries);
  const shards = planShards(
    entries.map(([name, t]) => ({ name, byteLength: byteLengthOf(name, t) })),
    options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE,
    options.weightsName ?? "model",
  );
  const manifest: ManifestShard[] = shards.map((shard) => ({
    file: shard.file,
    tensors: shard.names.map((name) => {
      const t = byName.get(name) as TensorInput;
      return { name, dtype: t.dtype, shape: t.shape, byteLength: byteLengthOf(name, t) };
    }),
  }));
  const setId = newSetId();
  const digest = manifestDigest(manifest);
  const bytesTotal = shards.reduce((sum, s) => sum + s.byteLength, 0);
  await writeDirectoryAtomically(dir, async (tempDir) => {
    let before = 0;
    for (const [i, shard] of shards.entries()) {
      const metadata = {
        ...(options.metadata ?? { format: "pt" }),
        ...(options.encryption ? shardBindingFields(setId, digest, i + 1, shards.length) : {}),
      };
      const base = before;
      const save: SaveOptions = {
        metadata,
        ...(options.encryption
          ? { encryption: shardEncryption(options.encryption, [...byName.keys()], shard.names) }
          : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress
          ? {
              onProgress: (p: Progress) =>
                options.onProgress?.({
                  tensor: p.tensor,
                  bytesDone: base + p.bytesDone,
                  bytesTotal,
                }),
            }
          : {}),
      };
      await saveFile(
        join(tempDir, shard.file),
        new Map(shard.names.map((name) => [name, byName.get(name) as TensorInput])),
        save,
      );
      before += shard.byteLength;
    }
    if (shards.length > 1) {
      const index = serializeShardIndex({
        metadata: indexMetadata(
          bytesTotal,
          options.encryption ? { setId, manifest: digest, count: shards.length } : null,
        ),
        weightMap: shards.flatMap((s) => s.names.map((name) => [name, s.file] as [string, string])),
      });
      await writeFile(
        join(tempDir, `${options.weightsName ?? "model"}.safetensors.index.json`),
        index,
        {
          flag: "wx",
        },
      );
    }
  });
}

/**
 * Splits tensors into shards as huggingface_hub does; file names `NAME-0000i-of-0000N.safetensors`
 * (one shard: `NAME.safetensors`).
 *
 * @example
 * ```ts
 * planShards([{ name: "a", byteLength: 6 }, { name: "b", byteLength: 6 }], 10, "model");
 * // [{ file: "model-00001-of-00002.safetensors", names: ["a"], … }, { file: "model-00002-of-00002.safetensors", … }]
 * ```
 */
export function planShards(
  tensors: ReadonlyArray<{ name: string; byteLength: number }>,
  maxShardSize: number,
  weightsName: string,
): ShardPlan[] {
  if (!Number.isSafeInteger(maxShardSize) || maxShardSize <= 0)
    throw new RangeError("maxShardSize must be a positive integer number of bytes");
  if (typeof weightsName !== "string" || !/^[A-Za-z0-9._-]+$/.test(weightsName))
    throw new TypeError("weightsName must be a plain file name stem");
  const groups: Array<{ names: string[]; byteLength: number }> = [];
  let current = { names: [] as string[], byteLength: 0 };
  for (const { name, byteLength } of tensors) {
    if (byteLength > maxShardSize) {
      groups.push({ names: [name], byteLength });
      continue;
    }
    if (current.byteLength + byteLength > maxShardSize && current.names.length > 0) {
      groups.push(current);
      current = { names: [], byteLength: 0 };
    }
    current.names.push(name);
    current.byteLength += byteLength;
  }
  if (current.names.length > 0 || groups.length === 0) groups.push(current);
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, "0");
  return groups.map((g, i) => ({
    ...g,
    file:
      n === 1
        ? `${weightsName}.safetensors`
        : `${weightsName}-${pad(i + 1)}-of-${pad(n)}.safetensors`,
  }));
}

function byteLengthOf(name: string, tensor: TensorInput): number {
  if (
    tensor === null ||
    typeof tensor !== "object" ||
    typeof tensor.dtype !== "string" ||
    !isDtype(tensor.dtype)
  )
    throw new TypeError(
      `tensor ${JSON.stringify(name)} must be { dtype, shape, data } with a safetensors dtype`,
    );
  return tensorByteLength(tensor.dtype, tensor.shape);
}
