// Backend over the native addon: arguments are validated here (validate.ts), the addon re-checks
// only what memory safety needs, and native status numbers become typed errors (status.ts).
import { CryptoTensorsError } from "../errors.js";
import type {
  AeadAlgorithm,
  Backend,
  BackendCallOptions,
  BackendFile,
  DecryptRequest,
  PlanItem,
  ReadSealJob,
  SealJob,
  WholeSealer,
} from "./backend.js";
import { loadNativeBinding, type NativeBinding, type NativeFileHandle } from "./addon.js";
import { type ByteSource, checkSourceAborted, isByteSource } from "../source/byte-source.js";
import { nodeWholeSealer, sealWithNodeCrypto } from "./node-seal.js";
import { InFlight } from "./in-flight.js";
import { allocateDestination, runPackedPlan } from "./native-plans.js";
import { SourceBackendFile } from "./source-file.js";
import { type BatchSource, StagedSourceFile } from "./staged-file.js";
import { runStaged, StagingPool } from "./staging.js";
import { nativeStatusError } from "./status.js";
import { ALGORITHM_IDS, labelled, packPlan } from "./plan-table.js";
import {
  checkDecryptRequest,
  checkOpenPath,
  checkReadRange,
  checkSealJob,
  checkSealJobs,
  checkWholeSeal,
} from "./validate.js";

/** One checked v2 seal job (chunkSize > 0) by the addon's seal; a failure status is thrown. */
async function sealChunks(binding: NativeBinding, job: SealJob): Promise<void> {
  const status = await binding.seal(
    ALGORITHM_IDS[job.algorithm],
    job.key,
    job.baseIv,
    job.firstChunk,
    job.chunkSize,
    job.plaintext,
    job.ciphertext,
    job.tags,
  );
  const error = nativeStatusError(status, "sealing");
  if (error) throw error;
}

class NativeBackendFile implements BackendFile {
  readonly size: number;
  // ES-private: the raw handle is never reachable from user code through this object.
  readonly #path: string;
  readonly #handle: NativeFileHandle;
  readonly #binding: NativeBinding;
  readonly #staging: StagingPool;
  /** Staged plans in flight: each is several native calls, and close() waits for all of them. */
  readonly #staged: InFlight;

  constructor(
    path: string,
    handle: NativeFileHandle,
    binding: NativeBinding,
    staging: StagingPool,
  ) {
    this.#path = path;
    this.#handle = handle;
    this.#binding = binding;
    this.#staging = staging;
    this.#staged = new InFlight(path);
    this.size = handle.size;
  }

  /** See BackendFile.wholeLoadPlan (a getter: the file's own keys stay just `size`). */
  get wholeLoadPlan(): boolean {
    return true;
  }

  allocate(byteLength: number, options?: { overwritten?: boolean }): Uint8Array {
    return allocateDestination(this.#binding, byteLength, options?.overwritten === true);
  }

  async readInto(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void> {
    checkReadRange(this.size, offset, length, dest);
    this.#checkOpen(options);
    if (!this.#owned(dest, length)) {
      await this.#runStaged([{ kind: "read", offset, length, dest }]);
      return;
    }
    const status = await this.#handle.read(offset, length, dest);
    const error = nativeStatusError(status, `reading ${this.#path}`);
    if (error) throw error;
  }

  async decryptInto(
    request: DecryptRequest,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void> {
    checkDecryptRequest(this.size, request, dest);
    this.#checkOpen(options);
    if (!this.#owned(dest, request.length)) {
      await this.#runStaged([{ kind: "decrypt", request, dest }]);
      return;
    }
    const status = await this.#handle.decrypt(
      ALGORITHM_IDS[request.algorithm],
      request.key,
      request.fileOffset,
      request.length,
      request.chunkSize,
      request.firstChunk,
      request.baseIv,
      request.tags,
      dest,
    );
    const error = nativeStatusError(status, `decrypting ${this.#path}`);
    if (error) throw error;
  }

  async runPlan(items: readonly PlanItem[], options?: BackendCallOptions): Promise<void> {
    const packed = packPlan(this.size, items);
    try {
      this.#checkOpen(options);
      if (items.length === 0) return;
      const direct = items.every((item) =>
        this.#owned(item.dest, item.kind === "read" ? item.length : item.request.length),
      );
      if (!direct) {
        packed.keys.fill(0);
        await this.#runStaged(items);
        return;
      }
      const destPrivate = options?.destPrivate === true;
      const { status, failed } = await runPackedPlan(this.#handle, packed, destPrivate);
      const item = items[failed];
      const error = nativeStatusError(
        status,
        `${item?.kind === "read" ? "reading" : "decrypting"} ${this.#path}`,
      );
      if (error) throw labelled(error, item?.label);
    } finally {
      packed.keys.fill(0); // our packed copy of the data keys
    }
  }

  async readSealInto(jobs: readonly ReadSealJob[], options?: BackendCallOptions): Promise<void> {
    const first = jobs[0];
    if (!first) return;
    const readSeal = this.#handle.readSeal?.bind(this.#handle);
    const parts: Array<number | Uint8Array> = [];
    for (const job of jobs) {
      checkReadRange(this.size, job.fileOffset, job.length, job.dest);
      if (job.chunkSize <= 0 || job.length === 0)
        throw new RangeError("a read and seal needs a positive chunkSize and length");
      if (job.algorithm !== first.algorithm || job.chunkSize !== first.chunkSize)
        throw new RangeError("the jobs of one read and seal share an algorithm and chunk size");
      // The seal's own checks (key, IV, tag room, counter range) over the destination.
      const dest = job.dest.subarray(0, job.length);
      checkSealJob({ ...job, plaintext: dest, ciphertext: dest });
      if (!this.#owned(dest, job.length))
        throw new TypeError("a read and seal writes into addon memory only (allocateArena)");
      parts.push(job.fileOffset, job.length, job.firstChunk, job.key, job.baseIv, dest, job.tags);
    }
    this.#checkOpen(options);
    if (!readSeal) {
      // An addon built before readSeal: the same bytes, read then sealed.
      for (const job of jobs) {
        const dest = job.dest.subarray(0, job.length);
        await this.readInto(job.fileOffset, job.length, dest, options);
        await sealChunks(this.#binding, { ...job, plaintext: dest, ciphertext: dest });
      }
      return;
    }
    const status = await readSeal(ALGORITHM_IDS[first.algorithm], first.chunkSize, ...parts);
    const error = nativeStatusError(status, `reading and sealing ${this.#path}`);
    if (error) throw error;
  }

  close(): Promise<void> {
    // The addon defers the actual close(2) until in-flight reads finish; a staged plan is several
    // of them, so it is waited for here. Repeated calls share the close.
    return this.#staged.close(() => this.#handle.close());
  }

  #checkOpen(options: BackendCallOptions | undefined): void {
    this.#staged.checkOpen();
    // A local mapped read cannot be interrupted once queued; the signal is honoured up to then.
    checkSourceAborted(options?.signal, this.#path);
  }

  /** True when the addon's threads may write `dest[0 .. length)` directly (it lies in an arena). */
  #owned(dest: Uint8Array, length: number): boolean {
    return length === 0 || this.#binding.isArenaMemory(dest.subarray(0, length));
  }

  /** Runs validated items through staging windows (staging.ts): no native write into caller memory. */
  #runStaged(items: readonly PlanItem[]): Promise<void> {
    // Staging is ours alone until the window is copied out (and wiped on failure).
    const run = (windowItems: PlanItem[]) =>
      runPackedPlan(this.#handle, packPlan(this.size, windowItems), true);
    return this.#staged.track(
      runStaged(items, this.#staging, run, (status, kind) =>
        nativeStatusError(status, `${kind === "read" ? "reading" : "decrypting"} ${this.#path}`),
      ),
    );
  }
}

/**
 * The native backend. Construct through `getBackend("native")` rather than directly.
 *
 * @example
 * ```ts
 * const file = await new NativeBackend(loadNativeBinding()).open("model.safetensors");
 * await file.readInto(0, 8, new Uint8Array(8));
 * ```
 */
export class NativeBackend implements Backend {
  readonly name = "native" as const;

  readonly #binding: NativeBinding;
  readonly #staging: StagingPool;

  constructor(binding: NativeBinding = loadNativeBinding()) {
    this.#binding = binding;
    this.#staging = new StagingPool((bytes) => new Uint8Array(binding.allocateArena(bytes)));
  }

  async open(target: string | ByteSource): Promise<BackendFile> {
    // The fast path maps local files itself. A batch source (HTTP) is received into addon memory
    // and decrypted on the pool; any other source is read into caller memory and decrypted with
    // node:crypto.
    if (isByteSource(target)) {
      if (typeof target.readPieces === "function")
        return new StagedSourceFile(target as BatchSource, this.#binding, this.#staging);
      return new SourceBackendFile(target);
    }
    const path = checkOpenPath(target);
    const result = await this.#binding.openFile(path);
    if (typeof result === "number") {
      throw (
        nativeStatusError(result, `opening ${path}`) ??
        new CryptoTensorsError("ERR_INTERNAL", `opening ${path}`)
      );
    }
    return new NativeBackendFile(path, result, this.#binding, this.#staging);
  }

  async seal(job: SealJob): Promise<void> {
    const chunks = checkSealJob(job);
    if (job.chunkSize === 0) {
      // The addon seals v2 chunks only; a whole (v1) range is one sequential AEAD anyway.
      sealWithNodeCrypto(job, chunks);
      return;
    }
    await sealChunks(this.#binding, job);
  }

  async sealAll(jobs: readonly SealJob[]): Promise<void> {
    checkSealJobs(jobs);
    const first = jobs[0];
    if (!first) return;
    const { algorithm, chunkSize } = first;
    // One native job needs one algorithm and chunk size (always so for a writer batch), and an
    // addon that has sealBatch.
    const sealBatch = this.#binding.sealBatch?.bind(this.#binding);
    if (
      !sealBatch ||
      chunkSize === 0 ||
      jobs.some((j) => j.algorithm !== algorithm || j.chunkSize !== chunkSize)
    ) {
      await Promise.all(jobs.map((job) => this.seal(job)));
      return;
    }
    const parts: Array<Uint8Array | number> = [];
    for (const job of jobs)
      parts.push(job.key, job.baseIv, job.firstChunk, job.plaintext, job.ciphertext, job.tags);
    const status = await sealBatch(ALGORITHM_IDS[algorithm], chunkSize, ...parts);
    const error = nativeStatusError(status, "sealing");
    if (error) throw error;
  }

  wholeSealer(algorithm: AeadAlgorithm, key: Uint8Array, iv: Uint8Array): WholeSealer {
    checkWholeSeal(algorithm, key, iv);
    return nodeWholeSealer(algorithm, key, iv);
  }
}
