// The public read API for whole models: openModel, loadModel, verifyModel and inspectModel over a
// Hugging Face model directory (sharded with an index, or a single model.safetensors).
import { fileURLToPath } from "node:url";
import { CryptoTensorsError } from "../errors.js";
import type { ParsedHeader } from "../format/types.js";
import type { LoadOptions, OpenOptions } from "../reader/open-file.js";
import { inspectFile, type FileDescription } from "../reader/inspect-file.js";
import type { Tensor, TensorFile } from "../reader/tensor-file.js";
import type { RemoteOptions } from "../source/http-source.js";
import { isRemoteUrl } from "../source/remote-url.js";
import { checkModelBinding, type BindingCheckOptions, type ModelBinding } from "./binding.js";
import { LazyShard, type VerifiedShard } from "./lazy-shard.js";
import { shardLocation, type ModelLayout } from "./layout.js";
import { locateModelAt } from "./remote-layout.js";
import { Model } from "./model.js";
import { sharedKeyOptions } from "./shared-keys.js";
import { eachLimited, openShard, rethrow, verifyShard } from "./shard.js";

/** Options of {@link openModel}: those of openFile for every shard, plus the binding settings. */
export interface OpenModelOptions extends OpenOptions, BindingCheckOptions {
  /** Shards verified or opened at once (default 4). */
  concurrency?: number;
}

export interface LoadModelOptions extends OpenModelOptions {
  onProgress?: LoadOptions["onProgress"];
  signal?: AbortSignal;
}

/**
 * Opens a model directory (or its index, or a single `.safetensors` file). Every shard's header is
 * read and, when encrypted, its signature and policy checked, in parallel; then the shards are
 * checked to form one signed model (docs/sharded-models.md). Shards encrypted one by one without
 * the binding open with an "unbound shards" warning, or fail with `ERR_MODEL_UNBOUND` under
 * `requireBoundShards`. Only the first shard that holds a requested tensor is opened for reading
 * here (so a wrong master key fails at open); every other shard is opened — its data keys
 * unwrapped, its signature and policy checked again, its header compared with the one bound at
 * open — when a tensor of it is first read, several in parallel for `readAll`.
 *
 * @example
 * ```ts
 * const model = await openModel("./Llama-3-8B.ct", { keys: jwks, requireBoundShards: true });
 * const { data } = await model.getTensor("lm_head.weight");
 * await model.close();
 * ```
 */
export function openModel(target: string | URL, options: OpenModelOptions = {}): Promise<Model> {
  return openModelWith(target, options, false);
}

/** openModel; `eager` opens every needed shard now (loadModel reads them all at once anyway). */
async function openModelWith(
  target: string | URL,
  options: OpenModelOptions,
  eager: boolean,
): Promise<Model> {
  const path = checkPath(target);
  const layout = await locateModelAt(path, options.remote);
  const requested = requestedByShard(layout, options.tensors);
  const limit = concurrency(options);
  // Parsed once for every shard; wiped when the model closes (or its opening fails).
  const keys = sharedKeyOptions(options);
  try {
    return await openShards(path, layout, requested, keys.options, limit, eager, keys.wipe);
  } catch (error) {
    keys.wipe();
    throw error;
  }
}

/** The shards of `layout` verified or opened (see {@link openModel}), bound into a Model. */
async function openShards(
  path: string,
  layout: ModelLayout,
  requested: Map<string, string[]> | null,
  options: OpenModelOptions,
  limit: number,
  eager: boolean,
  onClose: () => void,
): Promise<Model> {
  const needed = (name: string): boolean => requested === null || requested.has(name);
  const firstNeeded = layout.shardNames.findIndex(needed);
  const openNow = (name: string): Promise<TensorFile> => {
    const wanted = requested?.get(name);
    return openShard(shardLocation(layout, name), {
      ...options,
      ...(wanted ? { tensors: wanted } : {}),
    });
  };
  const { results, failed, error } = await eachLimited(
    layout.shardNames,
    limit,
    async (name, index): Promise<VerifiedShard & { file: TensorFile | null }> => {
      if (needed(name) && (eager || index === firstNeeded)) {
        const file = await openNow(name);
        const header = file.verifiedHeader();
        return { header, envelope: null, file };
      }
      // Shards holding none of the requested tensors are verified (signature, policy) only.
      const wanted = requested === null ? undefined : (requested.get(name) ?? []);
      const { header, envelope } = await verifyShard(shardLocation(layout, name), {
        ...options,
        ...(wanted === undefined ? {} : { tensors: wanted }),
      });
      return { header, envelope, file: null };
    },
  );
  const opened = results.flatMap((r) => (r?.file ? [r.file] : []));
  try {
    if (failed) rethrow(error, `cannot open the shards of ${path}`);
    const verified = results as Array<VerifiedShard & { file: TensorFile | null }>;
    const binding = checkModelBinding(
      layout,
      verified.map((r, i) => ({ file: layout.shardNames[i] as string, header: r.header })),
      options,
    );
    const shards = layout.shardNames.flatMap((name, index) => {
      if (!needed(name)) return [];
      const r = verified[index] as VerifiedShard & { file: TensorFile | null };
      return [
        new LazyShard(
          name,
          r,
          requested?.get(name) ?? null,
          () => openNow(name),
          r.file ?? undefined,
        ),
      ];
    });
    return new Model(
      layout.dir,
      layout.shardNames,
      shards,
      binding,
      layout.indexName,
      limit,
      onClose,
    );
  } catch (e) {
    await Promise.allSettled(opened.map((file) => file.close()));
    throw e;
  }
}

/**
 * Loads every tensor of a model into fresh buffers (or one arena, through openModel + readAll).
 *
 * @example
 * ```ts
 * const tensors = await loadModel("./model-dir", { keys: jwks });
 * ```
 */
export async function loadModel(
  path: string | URL,
  options: LoadModelOptions = {},
): Promise<Record<string, Tensor>> {
  const model = await openModelWith(path, options, true);
  try {
    return await model.readAll({
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await model.close();
  }
}

/** What {@link verifyModel} checked. */
export interface ModelVerifyResult extends ModelBinding {
  shards: string[];
  signatureValid: boolean;
  policyAllowed: boolean;
}

/**
 * Checks every shard's signature and policy (verification key only, no master key) and the
 * binding of the shards into one model. Throws the typed error of the first failed check.
 *
 * @example
 * ```ts
 * await verifyModel("./model.ct", { verifyKeys: publicJwks, requireBoundShards: true });
 * ```
 */
export async function verifyModel(
  target: string | URL,
  options: OpenModelOptions = {},
): Promise<ModelVerifyResult> {
  const path = checkPath(target);
  const layout = await locateModelAt(path, options.remote);
  const limit = concurrency(options);
  const keys = sharedKeyOptions(options);
  const { results, failed, error } = await eachLimited(layout.shardNames, limit, (name) =>
    verifyShard(shardLocation(layout, name), keys.options),
  ).finally(keys.wipe);
  if (failed) rethrow(error, `cannot verify the shards of ${path}`);
  const verified = results as Array<{ header: ParsedHeader; encrypted: boolean }>;
  if (!verified.every((v) => v.encrypted)) {
    const plain = layout.shardNames.filter((_, i) => !verified[i]?.encrypted);
    throw new CryptoTensorsError(
      "ERR_NOT_ENCRYPTED",
      `${path}: ${plain.join(", ")} ${plain.length === 1 ? "is" : "are"} not encrypted: there is no signature or policy to verify`,
    );
  }
  const binding = checkModelBinding(
    layout,
    verified.map((v, i) => ({ file: layout.shardNames[i] as string, header: v.header })),
    options,
  );
  return { ...binding, shards: layout.shardNames, signatureValid: true, policyAllowed: true };
}

/** A model described from its index and shard headers alone (nothing verified). */
export interface ModelDescription {
  path: string;
  verified: false;
  indexName: string | null;
  indexMetadata: Record<string, unknown> | null;
  shards: FileDescription[];
}

/**
 * Describes a model's layout and every shard's header without any key (nothing is verified).
 *
 * @example
 * ```ts
 * const { shards } = await inspectModel("./model-dir");
 * ```
 */
export async function inspectModel(
  target: string | URL,
  options: { remote?: RemoteOptions } = {},
): Promise<ModelDescription> {
  const path = checkPath(target);
  const layout = await locateModelAt(path, options.remote);
  const { results, failed, error } = await eachLimited(layout.shardNames, 4, (name) =>
    inspectFile(shardLocation(layout, name), options),
  );
  if (failed) rethrow(error, `cannot read the shards of ${path}`);
  return {
    path: layout.dir,
    verified: false,
    indexName: layout.indexName,
    indexMetadata: layout.index ? Object.fromEntries(layout.index.metadata) : null,
    shards: results as FileDescription[],
  };
}

/** `options.tensors` split by shard (through the index); null when all tensors are wanted. */
function requestedByShard(
  layout: ModelLayout,
  tensors: readonly string[] | undefined,
): Map<string, string[]> | null {
  if (tensors === undefined) return null;
  if (!Array.isArray(tensors) || !tensors.every((n) => typeof n === "string"))
    throw new TypeError("options.tensors must be an array of tensor names");
  if (tensors.length === 0)
    throw new RangeError(
      "options.tensors is empty: name the tensors to read, or omit the option to read them all",
    );
  const byShard = new Map<string, string[]>();
  if (layout.index === null) {
    byShard.set(layout.shardNames[0] as string, [...tensors]);
    return byShard;
  }
  const where = new Map(layout.index.weightMap);
  const missing = tensors.filter((n) => !where.has(n));
  if (missing.length > 0)
    throw new CryptoTensorsError(
      "ERR_TENSOR_NOT_FOUND",
      `options.tensors names tensors absent from the model's index: ${missing.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  for (const name of new Set(tensors)) {
    const shard = where.get(name) as string;
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  return byShard;
}

function concurrency(options: OpenModelOptions): number {
  const value = options.concurrency ?? 4;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError("concurrency must be a positive integer");
  return value;
}

/** The model's path, or its http(s) URL as a string (a file: URL becomes its path). */
function checkPath(path: unknown): string {
  if (path instanceof URL && path.protocol === "file:") return fileURLToPath(path);
  if (isRemoteUrl(path)) return path instanceof URL ? path.href : path;
  if (typeof path !== "string" || path.length === 0)
    throw new TypeError("path must be a non-empty string or an http(s) URL");
  return path;
}
