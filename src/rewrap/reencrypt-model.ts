// reencryptModel: reencryptFile for a model directory. Every shard is re-encrypted under the new
// master key with fresh data keys and IVs into a new directory (convertModel: shards streamed,
// a new set binding, the index rebuilt, other files copied, one atomic rename). The settings come
// from the verified input: version, chunk size and policy of its first shard (a model's shards
// share them, or it does not open), and the model's encrypted tensors, which stay encrypted.
import { convertModel, type ConvertModelResult } from "../model/convert-model.js";
import { locateModel, shardLocation } from "../model/layout.js";
import { openModel, type OpenModelOptions } from "../model/open-model.js";
import { KeyContext, type KeyTrustOptions } from "../reader/key-lookup.js";
import { openFile, type OpenOptions } from "../reader/open-file.js";
import { reencryption, type ReencryptOptions } from "./reencrypt-file.js";

/** Options of {@link reencryptModel}. */
export type ReencryptModelOptions = Omit<ReencryptOptions, "output"> &
  Pick<OpenModelOptions, "requireBoundShards" | "onWarning"> & {
    /** Shards re-encrypted at once (default 2). */
    concurrency?: number;
  };

/**
 * Re-encrypts every shard of an encrypted model into `outDir` (a new directory); afterwards the
 * old master key opens none of the new shards.
 *
 * @example
 * ```ts
 * await reencryptModel("llama.ct", "llama.reenc", { oldKeys, newEncKey: fresh.keys[0], newSignKey: fresh.keys[1] });
 * ```
 */
export async function reencryptModel(
  inPath: string,
  outDir: string,
  options: ReencryptModelOptions,
): Promise<ConvertModelResult> {
  if (options === null || typeof options !== "object")
    throw new TypeError("reencryptModel needs an options object");
  if (options.newEncKey === undefined || options.newEncKey === null) {
    throw new TypeError(
      "reencryptModel needs newEncKey: re-encrypting under the same master key would not revoke it",
    );
  }
  const trust: KeyTrustOptions = {
    ...(options.oldKeys === undefined ? {} : { keys: options.oldKeys }),
    ...(options.verifyKeys === undefined ? {} : { verifyKeys: options.verifyKeys }),
    ...(options.jkuRoots === undefined ? {} : { jkuRoots: options.jkuRoots }),
    ...(options.keyRegistry === undefined ? {} : { keyRegistry: options.keyRegistry }),
  };
  const input: OpenOptions = {
    ...trust,
    ...(options.policyEvaluator ? { policyEvaluator: options.policyEvaluator } : {}),
    ...(options.claims ? { claims: options.claims } : {}),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
  const modelInput: OpenModelOptions = {
    ...input,
    ...(options.requireBoundShards === undefined
      ? {}
      : { requireBoundShards: options.requireBoundShards }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
  };
  // The model's encrypted tensors, across all shards, from a verified open of the whole model.
  const model = await openModel(inPath, modelInput);
  const encrypted = model.encryption()?.encryptedTensors ?? [];
  await model.close();

  const layout = await locateModel(inPath);
  const first = await openFile(shardLocation(layout, layout.shardNames[0] as string), input);
  const context = KeyContext.open(trust);
  let release = (): void => undefined;
  try {
    const settings = await reencryption(first, options, context, inPath);
    release = settings.release;
    await first.close();
    return await convertModel(inPath, outDir, {
      input: modelInput,
      encryption: { ...settings.encryption, tensors: encrypted },
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    release();
    context.dispose();
    await first.close();
  }
}
