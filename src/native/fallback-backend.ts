// Pure TypeScript backend (node:fs + node:crypto) with the same semantics and error codes as the
// native one; used when the addon cannot load, and as the reference the native path is tested
// against. Its files are SourceBackendFiles over a local file source (or the source it is given).
import { isByteSource, type ByteSource } from "../source/byte-source.js";
import { openFileSource } from "../source/file-source.js";
import type { AeadAlgorithm, Backend, BackendFile, SealJob, WholeSealer } from "./backend.js";
import { nodeWholeSealer, sealWithNodeCrypto } from "./node-seal.js";
import { SourceBackendFile } from "./source-file.js";
import { checkOpenPath, checkSealJob, checkSealJobs, checkWholeSeal } from "./validate.js";

/**
 * The pure TypeScript backend.
 *
 * @example
 * ```ts
 * const file = await new FallbackBackend().open("model.safetensors");
 * try { await file.readInto(0, 8, new Uint8Array(8)); } finally { await file.close(); }
 * ```
 */
export class FallbackBackend implements Backend {
  readonly name = "fallback" as const;

  async open(target: string | ByteSource): Promise<BackendFile> {
    if (isByteSource(target)) return new SourceBackendFile(target);
    return new SourceBackendFile(await openFileSource(checkOpenPath(target)));
  }

  async seal(job: SealJob): Promise<void> {
    sealWithNodeCrypto(job, checkSealJob(job));
  }

  async sealAll(jobs: readonly SealJob[]): Promise<void> {
    const chunks = checkSealJobs(jobs);
    for (const [i, job] of jobs.entries()) sealWithNodeCrypto(job, chunks[i] as number);
  }

  wholeSealer(algorithm: AeadAlgorithm, key: Uint8Array, iv: Uint8Array): WholeSealer {
    checkWholeSeal(algorithm, key, iv);
    return nodeWholeSealer(algorithm, key, iv);
  }
}
