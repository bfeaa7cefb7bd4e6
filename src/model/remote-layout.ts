// The layout of a model served over http(s): a URL of its index (`*.safetensors.index.json`), of
// one `.safetensors` file, or of its directory. A directory cannot be listed over HTTP, so its
// layout is found by name, as Hugging Face's hub does: `model.safetensors.index.json` if the
// server has it (any answer but 404 is final), else `model.safetensors`. Shards are then
// resolved against the directory's URL by shardLocation (layout.ts).
import { CryptoTensorsError } from "../errors.js";
import { compareUtf8 } from "../format/serialize.js";
import type { RemoteOptions } from "../source/http-source.js";
import { httpStatusOf } from "../source/range-response.js";
import { checkShardFileName, MAX_INDEX_BYTES, parseShardIndex } from "./index-json.js";
import { isRemoteUrl, openHttpSource } from "../source/remote-url.js";
import { DEFAULT_INDEX_NAME, locateModel, type ModelLayout, SINGLE_FILE_NAME } from "./layout.js";

/**
 * Locates a model's weights wherever they are: a local path (locateModel) or an http(s) URL.
 *
 * @example
 * ```ts
 * const layout = await locateModelAt(pathOrUrl, options.remote);
 * ```
 */
export function locateModelAt(
  path: string | URL,
  remote: RemoteOptions | undefined,
): Promise<ModelLayout> {
  if (isRemoteUrl(path)) return locateRemoteModel(path, remote);
  return locateModel(path as string);
}

/**
 * True for a URL naming a model directory or index rather than one file: its path ends with `/`
 * or with `.index.json` (the CLI's switch between file and model commands for URLs).
 *
 * @example
 * ```ts
 * isRemoteModelUrl("https://host/llama/"); // true
 * ```
 */
export function isRemoteModelUrl(url: string | URL): boolean {
  const { pathname } = new URL(url);
  return pathname.endsWith("/") || pathname.endsWith(".index.json");
}

/**
 * Locates the weights of the model at `url` (directory, index or single file); the index is
 * fetched with the same remote options (headers, timeouts, retries) as the shards.
 *
 * @example
 * ```ts
 * const layout = await locateRemoteModel("https://host/llama/", { headers });
 * shardLocation(layout, layout.shardNames[0]); // "https://host/llama/model-00001-of-00004.safetensors"
 * ```
 */
export async function locateRemoteModel(
  url: string | URL,
  remote: RemoteOptions = {},
): Promise<ModelLayout> {
  const target = new URL(url);
  target.hash = "";
  const { pathname } = target;
  const name = decodeURIComponent(pathname.slice(pathname.lastIndexOf("/") + 1));
  if (pathname.endsWith(".index.json")) return readRemoteIndex(target, name, remote);
  if (pathname.endsWith(".safetensors")) {
    checkShardFileName(name, target.href);
    return { dir: new URL(".", target).href, indexName: null, index: null, shardNames: [name] };
  }
  // A directory: "llama" and "llama/" name the same one.
  if (!pathname.endsWith("/")) target.pathname = `${pathname}/`;
  try {
    return await readRemoteIndex(new URL(DEFAULT_INDEX_NAME, target), DEFAULT_INDEX_NAME, remote);
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
  }
  return { dir: target.href, indexName: null, index: null, shardNames: [SINGLE_FILE_NAME] };
}

async function readRemoteIndex(
  url: URL,
  indexName: string,
  remote: RemoteOptions,
): Promise<ModelLayout> {
  const source = await openHttpSource(url, remote);
  const bytes = new Uint8Array(Math.min(source.size, MAX_INDEX_BYTES));
  try {
    if (source.size > MAX_INDEX_BYTES)
      throw new CryptoTensorsError(
        "ERR_MODEL_INVALID",
        `${source.identity.name} is larger than ${MAX_INDEX_BYTES} bytes: not a shard index`,
      );
    await source.read(0, bytes.length, bytes);
  } finally {
    await source.close();
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_MODEL_INVALID",
      `${source.identity.name} is not UTF-8 text: not a shard index`,
      { cause },
    );
  }
  const index = parseShardIndex(text, source.identity.name);
  const shardNames = [...new Set(index.weightMap.map(([, file]) => file))].sort(compareUtf8);
  if (shardNames.length === 0)
    throw new CryptoTensorsError(
      "ERR_MODEL_INVALID",
      `${source.identity.name} lists no tensors in its weight_map`,
    );
  return { dir: new URL(".", url).href, indexName, index, shardNames };
}
