// An opened safetensors or CryptoTensors file: header validated, signature and policy checked,
// data keys unwrapped at open; tensor bytes read or decrypted on demand into caller buffers.
import { CryptoTensorsError } from "../errors.js";
import { TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkCount } from "../crypto/chunks.js";
import { checkDigest } from "../crypto/plaintext-digests.js";
import type { Dtype } from "../format/dtype.js";
import type { ParsedHeader, TensorEntry } from "../format/types.js";
import type { BackendFile, DecryptRequest, PlanItem, ReadSealJob } from "../native/backend.js";
import { wipeDestination } from "../native/views.js";
import { encryptionInfo, tensorInfo, userMetadata } from "./describe.js";
import { destinationView, type Destination } from "./destination.js";
import {
  arenaLayout,
  zeroGaps,
  BATCH_BYTES,
  runSteps,
  type LoadStep,
  type ReadAllProgress,
} from "./read-all.js";
import { groupRuns, planSlice, type SliceRange } from "./slice.js";
import { wipeUnlocked, type SealedTensor, type Unlocked } from "./unlock.js";

/** A tensor's bytes with its dtype and shape. `data` is little-endian, row-major, as stored. */
export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  encrypted: boolean;
}

/** Describes how a file is protected; null for plain safetensors. */
export interface EncryptionInfo {
  version: "1" | "2";
  algorithm: string;
  chunkSize: number | null;
  encKeyId?: string;
  signKeyId?: string;
  encryptedTensors: string[];
}

export interface GetTensorOptions {
  /** Destination with room for the tensor; the result's `data` is a view of its first bytes. */
  into?: Destination;
}

export interface ReadAllOptions {
  /**
   * One destination for every tensor (e.g. memory a model server already owns): tensor i is
   * written at a 64-byte aligned offset and returned as a view of it. Needs at least
   * {@link TensorFile.readAllByteLength} bytes. Default: a fresh buffer per tensor.
   */
  into?: Destination;
  /** Called as tensors complete, in file order, with the bytes done so far. */
  onProgress?: (progress: ReadAllProgress) => void;
  /** Aborting stops the load before the next tensor (ERR_ABORTED). */
  signal?: AbortSignal;
}

export class TensorFile {
  // ES private fields and methods, not TS `private` members: nothing outside this class can
  // reach them from JS (no header to tamper with, no raw byte reader that bypasses the requested
  // subset), and util.inspect or JSON never see them, so the data keys cannot be printed.
  readonly #byName = new Map<string, TensorEntry>();
  /** The tensors this handle serves, in file order: all, or those requested at open. */
  readonly #visible: TensorEntry[];
  #inFlight = 0;
  #closing: Promise<void> | null = null;
  #idle: (() => void) | null = null;
  readonly #file: BackendFile;
  readonly #header: ParsedHeader;
  readonly #unlocked: Unlocked | null;

  /** @internal Use {@link openFile}. */
  constructor(
    readonly path: string,
    file: BackendFile,
    header: ParsedHeader,
    unlocked: Unlocked | null,
    /** Name of the backend reading the bytes: "native" or "fallback". */
    readonly backend: string,
    /** `options.tensors` of openFile: the only tensors the policy was evaluated for and this handle serves. */
    requested: readonly string[] | null = null,
  ) {
    this.#file = file;
    this.#header = header;
    this.#unlocked = unlocked;
    const wanted = requested === null ? null : new Set(requested);
    this.#visible =
      wanted === null ? header.tensors : header.tensors.filter((t) => wanted.has(t.name));
    for (const entry of this.#visible) this.#byName.set(entry.name, entry);
  }

  /** Tensor names in data (file) order. */
  names(): string[] {
    return this.#visible.map((t) => t.name);
  }

  info(name: string): TensorInfo {
    return tensorInfo(this.#entry(name), this.#unlocked);
  }

  /** User metadata: every `__metadata__` entry except the reserved `__crypto_keys__`, `__encryption__`, `__policy__`, `__signature__`. */
  metadata(): Record<string, string> {
    return userMetadata(this.#header);
  }

  encryption(): EncryptionInfo | null {
    return encryptionInfo(this.#unlocked, this.names());
  }

  /** Reads (and decrypts, when encrypted) a whole tensor. */
  async getTensor(name: string, options: GetTensorOptions = {}): Promise<Tensor> {
    const entry = this.#entry(name);
    const length = entry.dataOffsets[1] - entry.dataOffsets[0];
    // Without `into`: memory the backend writes fastest (an addon arena for large tensors), which
    // the read overwrites entirely (or wipes).
    const data =
      options.into === undefined
        ? this.#file.allocate(length, { overwritten: true })
        : destinationView(options.into, length, name);
    await this.#track(() => this.#readBytes(entry, 0, length, data));
    return { dtype: entry.dtype, shape: entry.shape.slice(), data };
  }

  /**
   * Reads a slice `[start, stop)` along each leading dimension (later dimensions whole). On a
   * chunked (v2) tensor only the chunks overlapping the slice are decrypted.
   */
  async getSlice(
    name: string,
    ranges: readonly SliceRange[],
    options: GetTensorOptions = {},
  ): Promise<Tensor> {
    const entry = this.#entry(name);
    const plan = planSlice(name, entry.dtype, entry.shape, ranges);
    const data = destinationView(options.into, plan.byteLength, name);
    const sealed = this.#sealed(name);
    const chunked = sealed !== undefined && this.#unlocked?.chunkSize != null;
    await this.#track(async () => {
      let out = 0;
      for (const span of groupRuns(
        plan.runs,
        chunked ? (this.#unlocked?.chunkSize as number) : null,
      )) {
        const bytes = new Uint8Array(span.end - span.start);
        await this.#readBytes(entry, span.start, span.end, bytes);
        for (const [start, end] of span.runs) {
          data.set(bytes.subarray(start - span.start, end - span.start), out);
          out += end - start;
        }
        if (sealed) bytes.fill(0);
      }
    });
    return { dtype: entry.dtype, shape: plan.shape, data };
  }

  /**
   * Bytes `readAll({ into })` needs: every tensor, in file order, each at a 64-byte aligned offset.
   *
   * @example
   * ```ts
   * const arena = new ArrayBuffer(file.readAllByteLength());
   * ```
   */
  readAllByteLength(): number {
    return arenaLayout(this.#visible.map((t) => t.dataOffsets[1] - t.dataOffsets[0])).byteLength;
  }

  /**
   * Reads (and decrypts) every tensor in one pass over the file, in offset order: the backend
   * decrypts v2 chunks of many tensors in parallel straight into the destinations. On failure or
   * abort, the plaintext already written is wiped.
   *
   * @example
   * ```ts
   * const arena = new ArrayBuffer(file.readAllByteLength());
   * const tensors = await file.readAll({ into: arena, onProgress: (p) => console.log(p.bytesDone) });
   * ```
   */
  readAll(options: ReadAllOptions = {}): Promise<Record<string, Tensor>> {
    return this.#readAll(options, undefined);
  }

  /**
   * @internal Fresh memory from this file's backend (as readAll without `into` takes), for a
   * caller that loads several files into one region (Model.readAll: one arena, so one external
   * allocation and one garbage collection per model, as for a single file).
   */
  allocateFresh(byteLength: number): Uint8Array {
    return this.#file.allocate(byteLength, { overwritten: true });
  }

  /**
   * @internal readAll into `region`: exactly {@link readAllByteLength} bytes of memory from
   * {@link allocateFresh} that nobody can see until the caller returns (as readAll's own fresh
   * region: its gaps are zeroed here and the plan may decrypt in place there).
   */
  readAllPrivate(
    region: Uint8Array,
    options: Omit<ReadAllOptions, "into"> = {},
  ): Promise<Record<string, Tensor>> {
    if (!(region instanceof Uint8Array) || region.byteLength !== this.readAllByteLength())
      throw new RangeError("region must be readAllByteLength() bytes from allocateFresh");
    return this.#readAll({ ...options, into: undefined }, region);
  }

  async #readAll(
    options: ReadAllOptions,
    region: Uint8Array | undefined,
  ): Promise<Record<string, Tensor>> {
    if (this.#closing)
      throw new CryptoTensorsError(
        "ERR_CLOSED",
        `${this.path} has been closed; open it again to read`,
      );
    const entries = this.#visible;
    const lengths = entries.map((t) => t.dataOffsets[1] - t.dataOffsets[0]);
    const layout = arenaLayout(lengths);
    // Without `into`: one fresh region for every tensor (an addon arena when large: the threads
    // fault it in and decrypt straight into it), each tensor a view; it is freed once no view is
    // left. Nobody sees it before this call returns, hence destPrivate.
    const fresh = options.into === undefined;
    const arena = fresh
      ? (region ?? this.#file.allocate(layout.byteLength, { overwritten: true }))
      : destinationView(options.into, layout.byteLength, "readAll");
    if (fresh) zeroGaps(arena, layout.offsets, lengths);
    const result: Record<string, Tensor> = Object.create(null);
    const steps: LoadStep[] = [];
    entries.forEach((entry, i) => {
      const length = lengths[i] as number;
      const offset = layout.offsets[i] as number;
      const data = arena.subarray(offset, offset + length);
      result[entry.name] = { dtype: entry.dtype, shape: entry.shape.slice(), data };
      steps.push({ name: entry.name, byteLength: length, items: this.#loadItems(entry, data) });
    });
    try {
      await this.#track(() =>
        runSteps(
          steps,
          (items) => this.#file.runPlan(items, { signal: options.signal, destPrivate: fresh }),
          {
            ...options,
            path: this.path,
            // Nobody watching the load: one call, no JS turn between batches.
            ...(this.#file.wholeLoadPlan === true &&
            options.onProgress === undefined &&
            options.signal === undefined
              ? { batchBytes: Number.POSITIVE_INFINITY }
              : {}),
          },
        ),
      );
      // Plaintext tensors with a signed digest are checked once all their bytes are in.
      const digests = this.#unlocked?.plaintextDigests;
      if (digests && digests.size > 0) {
        for (const entry of entries) {
          const digest = digests.get(entry.name);
          if (digest) checkDigest(entry.name, (result[entry.name] as Tensor).data, digest);
        }
      }
    } catch (error) {
      // (A destination transferred meanwhile has nothing of ours left to wipe.)
      for (const step of steps)
        for (const item of step.items) wipeDestination(item.dest, item.dest.byteLength);
      throw error;
    }
    return result;
  }

  /** Plan items reading all of `entry` into `data`; v2 tensors are cut into batch-sized runs of chunks. */
  #loadItems(entry: TensorEntry, data: Uint8Array): PlanItem[] {
    const base = this.#header.dataStart + entry.dataOffsets[0];
    const length = data.byteLength;
    const sealed = this.#sealed(entry.name);
    const label = entry.name;
    if (!sealed) {
      const items: PlanItem[] = [];
      for (let pos = 0; pos < length; pos += BATCH_BYTES) {
        const size = Math.min(BATCH_BYTES, length - pos);
        items.push({
          kind: "read",
          offset: base + pos,
          length: size,
          dest: data.subarray(pos, pos + size),
          label,
        });
      }
      return items;
    }
    const chunkSize = this.#unlocked?.chunkSize ?? null;
    if (chunkSize === null || length === 0) {
      const request = this.#decryptRequest(entry.name, sealed, base, length, length, 0);
      return request === null ? [] : [{ kind: "decrypt", request, dest: data, label }];
    }
    const items: PlanItem[] = [];
    const chunksPerItem = Math.max(1, Math.floor(BATCH_BYTES / chunkSize));
    for (let first = 0; first * chunkSize < length; first += chunksPerItem) {
      const start = first * chunkSize;
      const end = Math.min(length, start + chunksPerItem * chunkSize);
      const request = this.#decryptRequest(
        entry.name,
        sealed,
        base + start,
        end - start,
        length,
        first,
      ) as DecryptRequest;
      items.push({ kind: "decrypt", request, dest: data.subarray(start, end), label });
    }
    return items;
  }

  /**
   * @internal The header this handle was opened from (verified when encrypted): every tensor and
   * every metadata entry, for the checks that bind the shards of a model (src/model/binding.ts).
   */
  verifiedHeader(): ParsedHeader {
    // A copy: the handle's own entries (offsets, names) must not be editable from outside.
    return structuredClone(this.#header);
  }

  /** True when `name` is a plaintext tensor whose bytes a signed digest authenticates (`__plaintext_sha256__`). */
  plaintextAuthenticated(name: string): boolean {
    this.#entry(name);
    return this.#unlocked?.plaintextDigests.has(name) ?? false;
  }

  /** True when the header has a `__metadata__` object (possibly empty). */
  hasMetadata(): boolean {
    return this.#header.metadata !== null;
  }

  /**
   * @internal For convertFile: the file position of a tensor's first byte when its plaintext can
   * be read and sealed in one pass ({@link TensorFile.readSealRanges}): a tensor stored in the
   * clear and not bound to a signed digest (whose check needs the whole tensor first), on a
   * backend that has it. Else null: read it with readRange.
   */
  readSealOffset(name: string): number | null {
    const entry = this.#entry(name);
    if (typeof this.#file.readSealInto !== "function") return null;
    if (this.#sealed(name) || this.#unlocked?.plaintextDigests.has(name)) return null;
    return this.#header.dataStart + entry.dataOffsets[0];
  }

  /**
   * @internal Reads file ranges (positions from {@link TensorFile.readSealOffset}) into addon
   * memory and seals them there as v2 chunks, as one unit of work (BackendFile.readSealInto).
   */
  async readSealRanges(jobs: readonly ReadSealJob[]): Promise<void> {
    const file = this.#file;
    if (typeof file.readSealInto !== "function")
      throw new CryptoTensorsError("ERR_INTERNAL", "this file cannot read and seal in one pass");
    await this.#track(() => file.readSealInto?.(jobs) ?? Promise.resolve());
  }

  /** Plaintext bytes `[start, end)` of a tensor into `dest` (exactly `end - start` bytes long); decrypts only the chunks it needs. */
  async readRange(name: string, start: number, end: number, dest: Uint8Array): Promise<void> {
    const entry = this.#entry(name);
    const length = entry.dataOffsets[1] - entry.dataOffsets[0];
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end < start ||
      end > length
    ) {
      throw new RangeError(
        `byte range [${start}, ${end}) is outside ${JSON.stringify(name)} (${length} bytes)`,
      );
    }
    if (!(dest instanceof Uint8Array) || dest.length !== end - start)
      throw new TypeError("dest must be a Uint8Array of end - start bytes");
    await this.#track(() => this.#readBytes(entry, start, end, dest));
  }

  /** Plaintext bytes `[start, end)` of a tensor into `dest` (exactly `end - start` long). */
  async #readBytes(
    entry: TensorEntry,
    start: number,
    end: number,
    dest: Uint8Array,
  ): Promise<void> {
    const base = this.#header.dataStart + entry.dataOffsets[0];
    const length = entry.dataOffsets[1] - entry.dataOffsets[0];
    const sealed = this.#sealed(entry.name);
    if (!sealed) {
      const digest = this.#unlocked?.plaintextDigests.get(entry.name);
      if (digest === undefined) {
        if (end > start) await this.#file.readInto(base + start, end - start, dest);
        return;
      }
      // A signed digest covers the whole tensor: read it all once, check, then hand out the
      // range from the checked copy (never bytes that were not checked).
      const whole = start === 0 && end === length ? dest : new Uint8Array(length);
      if (length > 0) await this.#file.readInto(base, length, whole);
      try {
        checkDigest(entry.name, whole, digest);
      } catch (error) {
        whole.fill(0);
        throw error;
      }
      if (whole !== dest) dest.set(whole.subarray(start, end));
      return;
    }
    const chunkSize = this.#unlocked?.chunkSize ?? null;
    // Decrypt the smallest authenticated unit covering [start, end): whole chunks, or the whole v1 tensor.
    let firstChunk = 0;
    let spanStart = 0;
    let spanEnd = length;
    if (chunkSize !== null && length > 0) {
      firstChunk = Math.floor(start / chunkSize);
      spanStart = firstChunk * chunkSize;
      spanEnd =
        end > start
          ? Math.min(length, (Math.floor((end - 1) / chunkSize) + 1) * chunkSize)
          : spanStart;
    }
    const request = this.#decryptRequest(
      entry.name,
      sealed,
      base + spanStart,
      spanEnd - spanStart,
      length,
      firstChunk,
    );
    if (request === null) return; // v1 empty tensor written without IV/tag (FORMAT.md §3.5)
    if (spanStart === start && spanEnd === end) {
      await this.#file.decryptInto(request, dest);
      return;
    }
    const scratch = new Uint8Array(spanEnd - spanStart);
    try {
      await this.#file.decryptInto(request, scratch);
      dest.set(scratch.subarray(start - spanStart, end - spanStart));
    } finally {
      scratch.fill(0);
    }
  }

  /** Waits for in-flight reads, wipes data keys and closes the file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      if (this.#unlocked) wipeUnlocked(this.#unlocked);
      await this.#file.close();
    })();
    return this.#closing;
  }

  #decryptRequest(
    name: string,
    sealed: SealedTensor,
    fileOffset: number,
    spanLength: number,
    tensorLength: number,
    firstChunk: number,
  ): DecryptRequest | null {
    const u = this.#unlocked as Unlocked;
    const { entry } = sealed;
    if (u.chunkSize === null) {
      const iv = entry.iv ?? Buffer.alloc(0);
      const tag = entry.tag ?? Buffer.alloc(0);
      if (tensorLength === 0 && iv.length === 0 && tag.length === 0) return null;
      if (iv.length !== 12)
        throw malformed("ERR_INVALID_IV_LENGTH", name, `iv must be 12 bytes, found ${iv.length}`);
      if (tag.length !== TAG_LENGTH)
        throw malformed(
          "ERR_ENCRYPTION_INVALID",
          name,
          `tag must be 16 bytes, found ${tag.length}`,
        );
      return request(u, sealed, fileOffset, spanLength, 0, 0, iv, tag);
    }
    const { baseIv, tags } = entry;
    if (!baseIv || !tags)
      throw malformed(
        "ERR_ENCRYPTION_INVALID",
        name,
        "base_iv and tags are required for chunked encryption",
      );
    if (baseIv.length !== 12)
      throw malformed(
        "ERR_INVALID_IV_LENGTH",
        name,
        `base_iv must be 12 bytes, found ${baseIv.length}`,
      );
    const chunks = chunkCount(tensorLength, u.chunkSize);
    if (tags.length !== chunks * TAG_LENGTH) {
      throw malformed(
        "ERR_ENCRYPTION_INVALID",
        name,
        `tags must hold ${chunks} tags (${chunks * TAG_LENGTH} bytes), found ${tags.length} bytes`,
      );
    }
    const covered = spanLength === 0 ? 1 : chunkCount(spanLength, u.chunkSize);
    const spanTags = tags.subarray(firstChunk * TAG_LENGTH, (firstChunk + covered) * TAG_LENGTH);
    return request(u, sealed, fileOffset, spanLength, u.chunkSize, firstChunk, baseIv, spanTags);
  }

  #entry(name: string): TensorEntry {
    if (typeof name !== "string") throw new TypeError("tensor name must be a string");
    if (this.#closing)
      throw new CryptoTensorsError(
        "ERR_CLOSED",
        `${this.path} has been closed; open it again to read`,
      );
    const entry = this.#byName.get(name);
    if (!entry) {
      const hidden =
        this.#visible !== this.#header.tensors && this.#header.tensors.some((t) => t.name === name);
      throw new CryptoTensorsError(
        "ERR_TENSOR_NOT_FOUND",
        hidden
          ? `${JSON.stringify(name)} was not among the tensors requested at open (options.tensors), for which the policy was evaluated; open the file again requesting it`
          : `no tensor named ${JSON.stringify(name)} in ${this.path}; see names()`,
      );
    }
    return entry;
  }

  #sealed(name: string): SealedTensor | undefined {
    if (!this.#unlocked?.encryptedNames.has(name)) return undefined;
    const sealed = this.#unlocked.tensors.get(name);
    // Never fall through to a plaintext read of ciphertext.
    if (!sealed)
      throw new CryptoTensorsError(
        "ERR_INTERNAL",
        `no data key is held for ${JSON.stringify(name)}`,
      );
    return sealed;
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await work();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#idle) this.#idle();
    }
  }
}

/**
 * A decrypt request as one object literal, its fields always in the same order: every request of a
 * load then shares one hidden class. (Built by spreading a common part and adding fields, each
 * request went through V8's slow property-definition path and the packer's property loads were
 * megamorphic: ~2 ms of a 310-tensor readAll, before its plan could start; issue 13.)
 */
function request(
  u: Unlocked,
  sealed: SealedTensor,
  fileOffset: number,
  length: number,
  chunkSize: number,
  firstChunk: number,
  baseIv: Uint8Array,
  tags: Uint8Array,
): DecryptRequest {
  return {
    algorithm: u.algorithm,
    key: sealed.dataKey,
    fileOffset,
    length,
    chunkSize,
    firstChunk,
    baseIv,
    tags,
  };
}

function malformed(
  code: "ERR_INVALID_IV_LENGTH" | "ERR_ENCRYPTION_INVALID",
  name: string,
  detail: string,
): CryptoTensorsError {
  return new CryptoTensorsError(
    code,
    `__encryption__ entry of ${JSON.stringify(name)} is malformed: ${detail}`,
  );
}
