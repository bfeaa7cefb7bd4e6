// Whole-directory conversions: convertModel (encrypt, decrypt or re-encrypt every shard) and
// rewrapModel (rotate keys or policy of every shard), writing a new model directory atomically:
// shards in parallel into a temporary directory, the index rebuilt (bound when encrypting), every
// other file copied byte for byte, then one rename.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { CryptoTensorsError, NotSupportedError } from "../errors.js";
import { rewrapFile, type RewrapOptions, type RewrapResult } from "../rewrap/rewrap-file.js";
import { shardEncryption, type EncryptionOptions } from "../writer/seal-plan.js";
import { isRemoteUrl } from "../source/remote-url.js";
import { convertFile } from "../writer/save-file.js";
import type { Progress } from "../writer/write-model.js";
import {
  indexMetadata,
  manifestDigest,
  newSetId,
  shardBindingFields,
  withoutBindingFields,
  type ManifestShard,
} from "./binding.js";
import { serializeShardIndex } from "./index-json.js";
import { locateModel, shardLocation, type ModelLayout } from "./layout.js";
import { copyOtherFiles, writeDirectoryAtomically } from "./model-dir.js";
import { openModel, type OpenModelOptions } from "./open-model.js";
import { eachLimited, rethrow } from "./shard.js";

export interface ConvertModelOptions {
  /** Options for opening the input model (keys to decrypt it, requireBoundShards, …). */
  input?: OpenModelOptions;
  /** Encryption of the output (bound as one model); omit to write a plain model. */
  encryption?: EncryptionOptions;
  /** Shards converted at once (default 2). */
  concurrency?: number;
  /** One progress stream over the whole model's bytes. */
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** What a directory conversion wrote. */
export interface ConvertModelResult {
  shards: string[];
  /** Other files copied as is, relative to the model directory. */
  copied: string[];
  /** The new set id of an encrypted output. */
  setId: string | null;
}

/** Weight files a model directory may hold besides its safetensors shards: never copied in the clear into an encrypted model. */
const OTHER_WEIGHTS =
  /(\.safetensors|\.pt|\.pth|\.ckpt|\.gguf|\.safetensors\.index\.json)$|^pytorch_model.*\.bin(\.index\.json)?$|^tf_model.*\.h5$|^flax_model.*\.msgpack$/;

/**
 * Converts a model directory shard by shard into `outDir`: encrypts (and binds) a plain model,
 * decrypts an encrypted one (dropping the binding fields), or re-encrypts under new keys.
 *
 * @example
 * ```ts
 * await convertModel("llama", "llama.ct", { encryption: { encKey, signKey } });
 * await convertModel("llama.ct", "llama.back", { input: { keys: jwks } });
 * ```
 */
export async function convertModel(
  inPath: string,
  outDir: string,
  options: ConvertModelOptions = {},
): Promise<ConvertModelResult> {
  refuseRemote(inPath);
  const layout = await locateModel(inPath);
  checkDistinct(layout, outDir);
  if (options.encryption) refuseOtherWeights(layout, await readdir(layout.dir));
  // Open the input as a model first: an encrypted input must verify and be bound (or accepted
  // as unbound); its headers give the manifest the output is bound to.
  const model = await openModel(inPath, options.input ?? {});
  let manifest: ManifestShard[];
  let totals: number[];
  try {
    manifest = layout.shardNames.map((file) => ({
      file,
      tensors: model
        .names()
        .filter((name) => model.info(name).shard === file)
        .map((name) => {
          const info = model.info(name);
          return { name, dtype: info.dtype, shape: info.shape, byteLength: info.byteLength };
        }),
    }));
    totals = manifest.map((s) => s.tensors.reduce((sum, t) => sum + t.byteLength, 0));
  } finally {
    await model.close();
  }
  const setId = options.encryption ? newSetId() : null;
  const digest = manifestDigest(manifest);
  const bytesTotal = totals.reduce((a, b) => a + b, 0);
  const done = totals.map(() => 0);
  return writeDirectoryAtomically(outDir, async (tempDir) => {
    const { failed, error } = await eachLimited(
      layout.shardNames,
      limit(options),
      async (file, i) => {
        await convertFile(shardLocation(layout, file), join(tempDir, file), {
          ...(options.input ? { input: options.input } : {}),
          ...(options.encryption
            ? {
                encryption: shardEncryption(
                  options.encryption,
                  manifest.flatMap((s) => s.tensors.map((t) => t.name)),
                  (manifest[i] as ManifestShard).tensors.map((t) => t.name),
                ),
              }
            : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          metadata: (input) => ({
            ...withoutBindingFields(input),
            ...(setId ? shardBindingFields(setId, digest, i + 1, layout.shardNames.length) : {}),
          }),
          onProgress: (p) => {
            done[i] = p.bytesDone;
            options.onProgress?.({ tensor: p.tensor, bytesDone: sum(done), bytesTotal });
          },
        });
      },
    );
    if (failed) rethrow(error, `cannot convert the shards of ${inPath}`);
    if (options.signal?.aborted)
      throw new CryptoTensorsError(
        "ERR_ABORTED",
        `converting ${inPath} was aborted; nothing was written`,
        {
          cause: options.signal.reason,
        },
      );
    if (layout.index && layout.indexName) {
      const index = serializeShardIndex({
        metadata: indexMetadata(
          bytesTotal,
          setId ? { setId, manifest: digest, count: layout.shardNames.length } : null,
          layout.index.metadata,
        ),
        weightMap: layout.index.weightMap,
      });
      await writeFile(join(tempDir, layout.indexName), index, { flag: "wx" });
    }
    const copied = await copyOtherFiles(layout.dir, tempDir, skipped(layout));
    return { shards: layout.shardNames, copied, setId };
  });
}

export interface RewrapModelResult {
  shards: Array<{ file: string } & RewrapResult>;
  copied: string[];
}

/**
 * Rewraps every shard of an encrypted model into `outDir` (new master key, signing key and/or
 * policy); tensor data, IVs, tags and the binding fields are unchanged. The input must open as a
 * model with `options.oldKeys`. In place (`outDir` = the input) is not supported for directories.
 *
 * @example
 * ```ts
 * await rewrapModel("llama.ct", "llama.rotated", { oldKeys, newEncKey, newSignKey });
 * ```
 */
export async function rewrapModel(
  inPath: string,
  outDir: string,
  options: Omit<RewrapOptions, "output"> &
    Pick<OpenModelOptions, "requireBoundShards" | "onWarning">,
): Promise<RewrapModelResult> {
  refuseRemote(inPath);
  const layout = await locateModel(inPath);
  checkDistinct(layout, outDir);
  const { oldKeys, requireBoundShards, onWarning, ...rest } = options;
  const model = await openModel(inPath, {
    ...(oldKeys === undefined ? {} : { keys: oldKeys }),
    ...(rest.verifyKeys === undefined ? {} : { verifyKeys: rest.verifyKeys }),
    ...(rest.jkuRoots === undefined ? {} : { jkuRoots: rest.jkuRoots }),
    ...(rest.keyRegistry === undefined ? {} : { keyRegistry: rest.keyRegistry }),
    ...(requireBoundShards === undefined ? {} : { requireBoundShards }),
    ...(onWarning === undefined ? {} : { onWarning }),
  });
  const encrypted = model.binding.encrypted;
  await model.close();
  if (!encrypted)
    throw new CryptoTensorsError(
      "ERR_NOT_ENCRYPTED",
      `${inPath} is not encrypted: there are no data keys to rewrap`,
    );
  return writeDirectoryAtomically(outDir, async (tempDir) => {
    const { results, failed, error } = await eachLimited(layout.shardNames, 2, async (file) => ({
      file,
      ...(await rewrapFile(shardLocation(layout, file), {
        ...rest,
        ...(oldKeys === undefined ? {} : { oldKeys }),
        output: join(tempDir, file),
      })),
    }));
    if (failed) rethrow(error, `cannot rewrap the shards of ${inPath}`);
    if (layout.indexName) {
      await writeFile(
        join(tempDir, layout.indexName),
        await readFile(join(layout.dir, layout.indexName)),
        {
          flag: "wx",
        },
      );
    }
    const copied = await copyOtherFiles(layout.dir, tempDir, skipped(layout));
    return { shards: results as RewrapModelResult["shards"], copied };
  });
}

function skipped(layout: ModelLayout): Set<string> {
  return new Set([...layout.shardNames, ...(layout.indexName ? [layout.indexName] : [])]);
}

function checkDistinct(layout: ModelLayout, outDir: string): void {
  if (typeof outDir !== "string" || outDir.length === 0)
    throw new TypeError("outDir must be a non-empty path");
  if (resolve(outDir) === resolve(layout.dir))
    throw new NotSupportedError(
      `writing a model directory in place (${outDir}) is not supported: a failure would leave a mix of old and new shards; write to a new directory`,
    );
  if (resolve(outDir).startsWith(resolve(layout.dir) + sep))
    throw new CryptoTensorsError(
      "ERR_IO",
      `${outDir} is inside the input model ${layout.dir}, whose files would be copied into it; write the new model elsewhere`,
    );
}

/** A plaintext weight file the index does not list would be copied into the encrypted model as is. */
function refuseOtherWeights(layout: ModelLayout, names: string[]): void {
  const skip = skipped(layout);
  const stray = names.filter((name) => !skip.has(name) && OTHER_WEIGHTS.test(name));
  if (stray.length > 0) {
    throw new CryptoTensorsError(
      "ERR_MODEL_INVALID",
      `${layout.dir} also holds weight files that are not shards of this model (${stray.join(", ")}); they would be copied unencrypted. Remove or move them, then encrypt again`,
    );
  }
}

function limit(options: ConvertModelOptions): number {
  const value = options.concurrency ?? 2;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError("concurrency must be a positive integer");
  return value;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * A model directory over http(s) cannot be listed, so its other files (config, tokenizer, …)
 * could not be copied: converting it would silently write less than the model.
 */
function refuseRemote(inPath: unknown): void {
  if (isRemoteUrl(inPath))
    throw new NotSupportedError(
      "converting a model directory read over http(s) (its other files cannot be listed); download the model, or open it with openModel(url)",
    );
}
