// Finds the weights of a Hugging Face model directory: a shard index
// (`model.safetensors.index.json`, or any single `*.safetensors.index.json`) naming its shards, or
// one `model.safetensors` (or a single `*.safetensors`) without an index. Every shard is then
// reached through `shardLocation`, the one place that turns a shard's name into where it lives.
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { compareUtf8 } from "../format/serialize.js";
import { isRemoteUrl } from "../source/remote-url.js";
import {
  checkShardFileName,
  MAX_INDEX_BYTES,
  parseShardIndex,
  type ShardIndex,
} from "./index-json.js";

/** Where a model's weights are. */
export interface ModelLayout {
  /** The directory holding the shards (and the index): a path, or a URL ending in "/". */
  dir: string;
  /** The index's file name, or null for a single-file model. */
  indexName: string | null;
  index: ShardIndex | null;
  /** Shard file names, sorted (HF's `-0000i-of-0000N` names sort in position order). */
  shardNames: string[];
}

export const INDEX_SUFFIX = ".safetensors.index.json";
export const DEFAULT_INDEX_NAME = `model${INDEX_SUFFIX}`;
export const SINGLE_FILE_NAME = "model.safetensors";

/**
 * Locates the weights of `path`: a model directory, an index file, or one `.safetensors` file.
 *
 * @example
 * ```ts
 * const layout = await locateModel("./Llama-3-8B");
 * layout.shardNames; // ["model-00001-of-00004.safetensors", …]
 * ```
 */
export async function locateModel(path: string): Promise<ModelLayout> {
  const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
    throw new CryptoTensorsError("ERR_IO", `cannot open the model ${path}: ${cause.message}`, {
      cause,
    });
  });
  if (info.isDirectory()) return locateInDirectory(path);
  if (path.endsWith(".index.json")) return readIndexLayout(dirname(path), basename(path));
  if (path.endsWith(".safetensors")) {
    checkShardFileName(basename(path), path);
    return { dir: dirname(path), indexName: null, index: null, shardNames: [basename(path)] };
  }
  throw invalid(
    `${path} is neither a model directory, a *${INDEX_SUFFIX} index nor a .safetensors file`,
  );
}

/**
 * Where the shard `name` of `layout` lives: the single function every shard is opened through
 * (a path in the model directory, or a URL resolved against the remote directory's URL).
 *
 * @example
 * ```ts
 * await openFile(shardLocation(layout, layout.shardNames[0]));
 * ```
 */
export function shardLocation(layout: ModelLayout, name: string): string {
  // A remote layout's dir is its directory URL (remote-layout.ts); shard names hold no "/".
  if (isRemoteUrl(layout.dir)) return new URL(encodeURIComponent(name), layout.dir).href;
  return join(layout.dir, name);
}

/** True when `path` is a directory (the CLI's switch between file and model commands). */
export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function locateInDirectory(dir: string): Promise<ModelLayout> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() || entry.isSymbolicLink())
    .map((entry) => entry.name)
    .sort(compareUtf8);
  const indexes = names.filter((name) => name.endsWith(INDEX_SUFFIX));
  if (indexes.includes(DEFAULT_INDEX_NAME)) return readIndexLayout(dir, DEFAULT_INDEX_NAME);
  if (indexes.length === 1) return readIndexLayout(dir, indexes[0] as string);
  if (indexes.length > 1) {
    throw invalid(
      `${dir} holds several shard indexes (${indexes.join(", ")}); pass the path of the one to use`,
    );
  }
  const files = names.filter((name) => name.endsWith(".safetensors"));
  const single = files.includes(SINGLE_FILE_NAME)
    ? SINGLE_FILE_NAME
    : files.length === 1
      ? files[0]
      : undefined;
  if (single !== undefined) return { dir, indexName: null, index: null, shardNames: [single] };
  throw invalid(
    files.length === 0
      ? `${dir} holds no ${SINGLE_FILE_NAME} and no *${INDEX_SUFFIX}: it is not a safetensors model directory`
      : `${dir} holds several .safetensors files (${files.join(", ")}) and no index; pass the path of the file to use`,
  );
}

async function readIndexLayout(dir: string, indexName: string): Promise<ModelLayout> {
  const path = join(dir, indexName);
  const info = await stat(path);
  if (!info.isFile() || info.size > MAX_INDEX_BYTES)
    throw invalid(`${path} is not a regular file of at most ${MAX_INDEX_BYTES} bytes`);
  const index = parseShardIndex(await readFile(path, "utf8"), path);
  const shardNames = [...new Set(index.weightMap.map(([, file]) => file))].sort(compareUtf8);
  if (shardNames.length === 0) throw invalid(`${path} lists no tensors in its weight_map`);
  return { dir, indexName, index, shardNames };
}

function invalid(message: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_MODEL_INVALID", message);
}
