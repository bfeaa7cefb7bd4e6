// The directory branch of encrypt, decrypt, verify, inspect and rewrap: when IN is a model
// directory (sharded with model.safetensors.index.json, or one model.safetensors), each command
// hands over to the whole-model API. Output directories appear at once or not at all; every other
// file (config, tokenizer, README) is copied as is; one progress line covers all shards.
import {
  convertModel,
  type EncryptionOptions,
  inspectModel,
  type OpenModelOptions,
  type Progress,
  type RemoteOptions,
  rewrapModel,
  type RewrapOptions,
  verifyModel,
} from "../index.js";
import { isDirectory } from "../model/layout.js";
import { isRemoteModelUrl } from "../model/remote-layout.js";
import { isRemoteUrl } from "../source/remote-url.js";
import { progressReporter } from "./progress.js";
import { interruptible } from "./interrupt.js";
import { terminalSafe, terminalSafeJson } from "./terminal-text.js";

export { isDirectory };

/**
 * True when IN names a whole model: a local directory, or a URL of a model directory (ending in
 * "/") or of its index (`*.index.json`).
 */
export async function isModelTarget(input: string): Promise<boolean> {
  return isRemoteUrl(input) ? isRemoteModelUrl(input) : isDirectory(input);
}

/** `--require-bound-shards`: refuse models whose shards were encrypted one by one. */
export const MODEL_OPTIONS = { "require-bound-shards": { type: "boolean" } } as const;

/** The binding options of a command's parsed values; the unbound warning goes to stderr. */
export function bindingOptionsFrom(values: Record<string, unknown>): OpenModelOptions {
  return {
    ...(values["require-bound-shards"] ? { requireBoundShards: true } : {}),
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  };
}

export async function encryptDirectory(
  input: string,
  output: string,
  encryption: EncryptionOptions,
  quiet: boolean,
): Promise<number> {
  const onProgress = quiet ? undefined : progressReporter("encrypting model");
  const result = await interruptible((signal) =>
    convertModel(input, output, { encryption, signal, ...(onProgress ? { onProgress } : {}) }),
  );
  process.stdout.write(
    `${input} -> ${output}: ${result.shards.length} shard(s) encrypted and bound (set ${result.setId}), ${result.copied.length} other file(s) copied\n`,
  );
  return 0;
}

export async function decryptDirectory(
  input: string,
  output: string,
  openOptions: OpenModelOptions,
  quiet: boolean,
): Promise<number> {
  const onProgress: ((p: Progress) => void) | undefined = quiet
    ? undefined
    : progressReporter("decrypting model");
  const result = await interruptible((signal) =>
    convertModel(input, output, {
      input: openOptions,
      signal,
      ...(onProgress ? { onProgress } : {}),
    }),
  );
  process.stdout.write(
    `${input} -> ${output}: ${result.shards.length} shard(s) decrypted, ${result.copied.length} other file(s) copied\n`,
  );
  return 0;
}

export async function verifyDirectory(input: string, options: OpenModelOptions): Promise<number> {
  const result = await verifyModel(input, options);
  const binding = result.bound
    ? `bound as one model (set ${result.setId})`
    : "NOT bound: the shards were signed one by one";
  process.stdout.write(
    `${input}: ${result.shards.length} shard(s), signatures valid, policy allows, ${binding}\n`,
  );
  return 0;
}

export async function inspectDirectory(
  input: string,
  json: boolean,
  remote: { remote?: RemoteOptions } = {},
): Promise<number> {
  const d = await inspectModel(input, remote);
  if (json) {
    process.stdout.write(`${terminalSafeJson(JSON.stringify(d, null, 2))}\n`);
    return 0;
  }
  const lines = [
    `model: ${d.path} (nothing verified; use verify)`,
    `index: ${d.indexName ?? "none (single file)"}`,
  ];
  for (const [key, value] of Object.entries(d.indexMetadata ?? {}))
    lines.push(`index metadata ${key} = ${JSON.stringify(value)}`);
  for (const shard of d.shards) {
    const bytes = shard.tensors.reduce((sum, t) => sum + t.byteLength, 0);
    const position = shard.metadata["cryptotensors.model.shard"];
    lines.push(
      `${shard.path}: ${shard.tensors.length} tensor(s), ${bytes} B, ${shard.encryption ? `encrypted (${shard.encryption.algorithm}, enc kid ${shard.encryption.encKeyId ?? "-"}, sign kid ${shard.encryption.signKeyId ?? "-"})` : "plain"}${position ? `, shard ${position} of ${shard.metadata["cryptotensors.model.shards"]}, set ${shard.metadata["cryptotensors.model.set"]}` : ""}`,
    );
  }
  // Names, metadata and key ids come from unverified headers: one escaped line each.
  process.stdout.write(`${lines.map(terminalSafe).join("\n")}\n`);
  return 0;
}

export async function rewrapDirectory(
  input: string,
  output: string,
  options: Omit<RewrapOptions, "output"> & OpenModelOptions,
): Promise<number> {
  const result = await rewrapModel(input, output, options);
  const rewrapped = result.shards.reduce((sum, s) => sum + s.rewrapped, 0);
  process.stdout.write(
    `${input} -> ${output}: ${result.shards.length} shard(s) re-signed, ${rewrapped} data key(s) re-wrapped, ${result.copied.length} other file(s) copied\n`,
  );
  return 0;
}
