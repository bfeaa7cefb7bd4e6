// The contract between the TypeScript layer and the code that touches file bytes or runs the
// bulk AEAD: the native addon implements it, and so does the pure-TypeScript fallback (node:fs +
// node:crypto). Reader, writer and rewrap reach either only through getBackend() (index.ts). Both
// must produce identical bytes and identical error codes (test/native/agree*.property.test.ts).
import type { AeadAlgorithm } from "../crypto/algorithms.js";
import type { ByteSource } from "../source/byte-source.js";

export type { AeadAlgorithm };

/** Options of one BackendFile call. */
export interface BackendCallOptions {
  /**
   * Aborts the call with ERR_ABORTED: a source passes it to every read it makes (a remote source
   * cancels its in-flight range requests); a mapped local file checks it before it starts.
   */
  signal?: AbortSignal | undefined;
  /**
   * runPlan only: every destination is memory this file's {@link BackendFile.allocate} returned for
   * this very call, and the caller shows none of it to anyone before the promise settles (a
   * failure wipes it). The native backend then faults the memory in on its threads first and may
   * pick a kernel that decrypts into it before the tag has verified.
   */
  destPrivate?: boolean | undefined;
}

/**
 * Decrypt one encrypted tensor range straight into `dest` (FORMAT.md §3.3–§3.4).
 *
 * Chunked (v2): `chunkSize > 0`. The range starts at chunk `firstChunk` of the tensor; it covers
 * `ceil(length / chunkSize)` chunks, the last possibly short. Chunk `firstChunk + i` uses the IV
 * `baseIv[0..8] ‖ BE32(BE32(baseIv[8..12]) + firstChunk + i)` (overflow above 0xFFFFFFFF →
 * ERR_COUNTER_OVERFLOW, never a wrap) and the tag `tags[16i .. 16i+16)` (tags holds exactly the
 * tags of the covered chunks). Whole (v1): `chunkSize === 0`, one AEAD over the range with
 * IV = baseIv and tag = tags[0..16).  Zero-length ranges still check their tag.
 */
export interface DecryptRequest {
  algorithm: AeadAlgorithm;
  /** Data key; the implementation copies it and wipes its copy when done. */
  key: Uint8Array;
  /** Absolute file offset of the first ciphertext byte. */
  fileOffset: number;
  /** Ciphertext bytes to decrypt (equals plaintext bytes written to dest). */
  length: number;
  chunkSize: number;
  firstChunk: number;
  baseIv: Uint8Array;
  tags: Uint8Array;
}

/**
 * One step of a {@link BackendFile.runPlan}: a plain copy of a file range, or a decryption. `label`
 * (e.g. the tensor name) names the step in the error if it fails.
 */
export type PlanItem =
  | { kind: "read"; offset: number; length: number; dest: Uint8Array; label?: string }
  | { kind: "decrypt"; request: DecryptRequest; dest: Uint8Array; label?: string };

export interface BackendFile {
  /** File size in bytes at open. */
  readonly size: number;
  /**
   * Fresh zero-filled memory of `byteLength` bytes that this file reads into fastest: on the
   * native backend, large sizes come from an addon arena (its threads write there directly;
   * any other destination is staged and copied on the JS thread), small ones are plain buffers.
   * `overwritten`: the caller writes (or wipes) every byte before anyone reads them, so memory
   * recycled by arena reuse (`setArenaReuse`) may come back with its old bytes, unzeroed.
   */
  allocate(byteLength: number, options?: { overwritten?: boolean }): Uint8Array;
  /**
   * True when one runPlan over a whole load costs no more memory than batches of it (the
   * native local file: its plans write straight into the destinations): a load that nobody
   * watches (no progress callback, no abort signal) then makes one call, and the addon's threads
   * never wait for the JS thread between batches (a garbage collection there, the next batch's
   * packing). Absent or false: batches of BATCH_BYTES.
   */
  readonly wholeLoadPlan?: boolean;
  /** Copies `[offset, offset + length)` of the file into `dest[0 .. length)`. */
  readInto(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void>;
  /** Decrypts as described by `request` into `dest[0 .. request.length)`; throws ERR_DECRYPTION_FAILED on any tag mismatch. */
  decryptInto(
    request: DecryptRequest,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void>;
  /**
   * Runs many reads and decryptions as one unit of work, in the given order (give it in file-offset
   * order): the native backend spreads their chunks over its thread pool in one call. Rejects with
   * the typed error of the first item that failed; every decrypt destination is then wiped.
   */
  runPlan(items: readonly PlanItem[], options?: BackendCallOptions): Promise<void>;
  /**
   * Optional (the native local file has it): reads each job's plaintext range of the file into its
   * `dest` and seals it there as v2 chunks, every job as one unit of work, each piece encrypted as
   * it lands (one pass over the bytes); the tags go to each job's `tags` once all have succeeded.
   * Every `dest` must be addon memory (`allocateArena`). Absent: read, then seal.
   */
  readSealInto?(jobs: readonly ReadSealJob[], options?: BackendCallOptions): Promise<void>;
  /** Closes the file once in-flight reads have finished (deferred close). */
  close(): Promise<void>;
}

/**
 * Encrypt `plaintext` into `ciphertext` (caller memory), FORMAT.md §3.3–§3.4.
 *
 * Chunked (v2): `chunkSize > 0`. `plaintext` starts at chunk `firstChunk` of its tensor and covers
 * `ceil(length / chunkSize)` chunks (one for an empty plaintext, the seal of the empty string),
 * the last possibly short. Chunk `firstChunk + i` is sealed with the IV of {@link DecryptRequest}
 * and its tag goes to `tags[16i .. 16i+16)`. Whole (v1): `chunkSize === 0`, `firstChunk === 0`,
 * one AEAD over `plaintext` with IV = baseIv, tag to `tags[0..16)` (the writer streams large v1
 * tensors through {@link Backend.wholeSealer} instead). IVs and keys are inputs, so a test can
 * fix them and compare backends byte for byte.
 */
/**
 * A plaintext range of a file, `[fileOffset, fileOffset + length)`, to be read into `dest` and
 * sealed there as v2 chunks of `chunkSize` (> 0): the fields of {@link SealJob} without its
 * buffers (the plaintext is the file's, the ciphertext `dest`'s).
 */
export interface ReadSealJob {
  algorithm: AeadAlgorithm;
  /** Data key; the implementation copies it and wipes its copy when done. */
  key: Uint8Array;
  baseIv: Uint8Array;
  firstChunk: number;
  chunkSize: number;
  fileOffset: number;
  length: number;
  /** `length` bytes of addon memory: receives the ciphertext. */
  dest: Uint8Array;
  /** 16 bytes per chunk of the range. */
  tags: Uint8Array;
}

export interface SealJob {
  algorithm: AeadAlgorithm;
  /** Data key; the implementation copies it and wipes its copy when done. */
  key: Uint8Array;
  baseIv: Uint8Array;
  firstChunk: number;
  chunkSize: number;
  plaintext: Uint8Array;
  /** Receives `plaintext.length` bytes; may be the same memory as `plaintext`. */
  ciphertext: Uint8Array;
  /** Receives exactly 16 bytes per covered chunk. */
  tags: Uint8Array;
}

/** A v1 (whole-tensor) AEAD fed in pieces: `update` returns each piece's ciphertext, `final` the tag. */
export interface WholeSealer {
  update(plaintext: Uint8Array): Uint8Array;
  /** Ends the AEAD and returns its 16-byte tag. */
  final(): Uint8Array;
}

export interface Backend {
  readonly name: "native" | "fallback";
  /**
   * Opens a local file by path (the native backend maps it), or any {@link ByteSource} (read into
   * caller memory and decrypted with node:crypto by both backends). The file owns the source and
   * closes it on `close()`.
   */
  open(target: string | ByteSource): Promise<BackendFile>;
  /**
   * Seals one job (see {@link SealJob}); the native backend spreads the chunks over its thread
   * pool. API misuse throws TypeError/RangeError; ERR_INVALID_KEY_LENGTH, ERR_INVALID_IV_LENGTH and
   * ERR_COUNTER_OVERFLOW as for decryption.
   */
  seal(job: SealJob): Promise<void>;
  /**
   * Seals several chunked (v2) jobs, each exactly as {@link Backend.seal} would: the native
   * backend runs them as one pool job (a writer batch of many small pieces wakes its threads once).
   * Every job is checked before any is started; their ciphertexts and tags must not overlap.
   */
  sealAll(jobs: readonly SealJob[]): Promise<void>;
  /**
   * Starts a v1 whole-tensor AEAD (FORMAT.md §3.3) that is fed piece by piece. One sequential
   * stream cannot use a thread pool, so both backends run it on node:crypto.
   */
  wholeSealer(algorithm: AeadAlgorithm, key: Uint8Array, iv: Uint8Array): WholeSealer;
}
