// The Hugging Face shard index, `model.safetensors.index.json`:
// `{"metadata": {"total_size": N, ...}, "weight_map": {tensor: shard file}}`. Read strictly (a
// repeated key, a path in a file name or a non-integer total_size is refused: the index is not
// signed, so nothing in it is trusted beyond what the shards' signatures confirm) and written the
// way transformers writes it (`json.dumps(index, indent=2, sort_keys=True) + "\n"`).
import { CryptoTensorsError } from "../errors.js";
import { parseJson, type JsonValue } from "../format/json.js";
import { compareUtf8 } from "../format/serialize.js";

/** Largest index accepted: a 100,000-tensor weight map is about 10 MB. */
export const MAX_INDEX_BYTES = 64 << 20;

/** A parsed shard index. */
export interface ShardIndex {
  /** `metadata` entries in file order; `total_size` is a number, others as JSON values. */
  metadata: Array<[string, unknown]>;
  /** `weight_map` entries: tensor name → shard file name, in file order. */
  weightMap: Array<[string, string]>;
}

/**
 * Parses an index's text. Throws `ERR_MODEL_INVALID` naming what is wrong.
 *
 * @example
 * ```ts
 * const index = parseShardIndex('{"metadata":{"total_size":8},"weight_map":{"w":"model-00001-of-00001.safetensors"}}', "index.json");
 * ```
 */
export function parseShardIndex(text: string, where: string): ShardIndex {
  let root: JsonValue;
  try {
    root = parseJson(text);
  } catch (cause) {
    throw invalid(`${where} is not valid JSON: ${(cause as Error).message}`, cause);
  }
  if (root.type !== "object") throw invalid(`${where} must hold a JSON object`);
  const weightMapValue = field(root, "weight_map");
  if (weightMapValue?.type !== "object")
    throw invalid(`${where} has no "weight_map" object (tensor name → shard file)`);
  const weightMap: Array<[string, string]> = [];
  for (const [name, value] of weightMapValue.entries) {
    if (value.type !== "string")
      throw invalid(`${where}: weight_map[${JSON.stringify(name)}] must be a file name string`);
    checkShardFileName(value.value, where);
    weightMap.push([name, value.value]);
  }
  const metadataValue = field(root, "metadata");
  const metadata: Array<[string, unknown]> = [];
  if (metadataValue !== undefined && metadataValue.type !== "null") {
    if (metadataValue.type !== "object") throw invalid(`${where}: "metadata" must be an object`);
    for (const [key, value] of metadataValue.entries) metadata.push([key, plain(value)]);
  }
  const totalSize = metadata.find(([key]) => key === "total_size")?.[1];
  if (totalSize !== undefined && !(Number.isSafeInteger(totalSize) && (totalSize as number) >= 0))
    throw invalid(`${where}: metadata.total_size must be a non-negative integer`);
  return { metadata, weightMap };
}

/**
 * The index text as transformers writes it: 2-space indentation, keys sorted, non-ASCII escaped,
 * a final newline.
 *
 * @example
 * ```ts
 * serializeShardIndex({ metadata: [["total_size", 8]], weightMap: [["w", "model.safetensors"]] });
 * ```
 */
export function serializeShardIndex(index: ShardIndex): string {
  const value = {
    metadata: Object.fromEntries(index.metadata),
    weight_map: Object.fromEntries(index.weightMap),
  };
  return `${pythonJson(value, "")}\n`;
}

/**
 * Refuses a shard file name that is not a plain `*.safetensors` name in the model's directory:
 * an index naming `../x` or `/etc/x` would make a loader read outside the model.
 *
 * @example
 * ```ts
 * checkShardFileName("model-00001-of-00002.safetensors", "index.json");
 * ```
 */
export function checkShardFileName(name: string, where: string): void {
  if (
    name.length === 0 ||
    name.length > 255 ||
    name === "." ||
    name === ".." ||
    /[/\\\0]/.test(name) ||
    !name.endsWith(".safetensors")
  ) {
    throw invalid(
      `${where} names shard ${JSON.stringify(name)}: a shard must be a *.safetensors file directly in the model directory`,
    );
  }
}

/** `json.dumps(value, indent=2, sort_keys=True)` of Python for objects, strings and numbers. */
function pythonJson(value: unknown, indent: string): string {
  if (typeof value === "string") return pythonString(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null)
    return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + pythonJson(item, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    compareUtf8(a, b),
  );
  if (entries.length === 0) return "{}";
  const lines = entries.map(([k, v]) => `${inner}${pythonString(k)}: ${pythonJson(v, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** A Python `ensure_ascii` string literal: everything outside ASCII as `\uXXXX` (UTF-16 units). */
function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function field(object: JsonValue & { type: "object" }, key: string): JsonValue | undefined {
  return object.entries.find(([k]) => k === key)?.[1];
}

function plain(value: JsonValue): unknown {
  switch (value.type) {
    case "object":
      return Object.fromEntries(value.entries.map(([k, v]) => [k, plain(v)]));
    case "array":
      return value.items.map(plain);
    case "string":
      return value.value;
    case "number":
      return Number(value.raw);
    case "bool":
      return value.value;
    default:
      return null;
  }
}

function invalid(message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_MODEL_INVALID",
    message,
    cause === undefined ? undefined : { cause },
  );
}
