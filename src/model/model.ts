// An opened model: the TensorFile surface over all of its shards. Every shard's header was read
// (and, when encrypted, its signature and policy checked) and the set binding checked before a
// Model exists; reads go to the shard that holds the tensor, whose data handle opens on first use
// (src/model/lazy-shard.ts).
import { CryptoTensorsError } from "../errors.js";
import { requireAttached, wipeDestination } from "../native/views.js";
import { ARENA_ALIGNMENT } from "../reader/read-all.js";
import { destinationView, type Destination } from "../reader/destination.js";
import type { SliceRange } from "../reader/slice.js";
import type {
  EncryptionInfo,
  GetTensorOptions,
  ReadAllOptions,
  Tensor,
  TensorFile,
  TensorInfo,
} from "../reader/tensor-file.js";
import { withoutBindingFields, type ModelBinding } from "./binding.js";
import type { LazyShard } from "./lazy-shard.js";
import { eachLimited, rethrow } from "./shard.js";

/** {@link TensorInfo} plus the shard file that holds the tensor. */
export interface ModelTensorInfo extends TensorInfo {
  shard: string;
}

export class Model {
  readonly #files: readonly LazyShard[];
  readonly #byName = new Map<string, LazyShard>();
  readonly #concurrency: number;
  readonly #onClose: () => void;
  #closing: Promise<void> | null = null;

  /** @internal Use {@link openModel}. */
  constructor(
    /** The model directory. */
    readonly path: string,
    /** Shard file names, in position order (all of them, whether or not a requested tensor is in them). */
    readonly shards: readonly string[],
    served: readonly LazyShard[],
    /** What the binding checks found: encrypted, bound, set id and manifest digest. */
    readonly binding: ModelBinding,
    /** The index file name, or null for a single-file model. */
    readonly indexName: string | null,
    /** Shards opened at once when several are needed (readAll). */
    concurrency = 4,
    /** Called once every shard is closed: wipes the keys openModel parsed for the shards. */
    onClose: () => void = () => undefined,
  ) {
    this.#files = served;
    this.#concurrency = concurrency;
    this.#onClose = onClose;
    for (const shard of served) for (const name of shard.names()) this.#byName.set(name, shard);
  }

  /** Tensor names: shard by shard in position order, each shard's in file order. */
  names(): string[] {
    return this.#files.flatMap((file) => file.names());
  }

  info(name: string): ModelTensorInfo {
    const shard = this.holder(name);
    return { ...shard.info(name), shard: shard.name };
  }

  /** User metadata of the shards (e.g. `format: "pt"`), without the binding fields. */
  metadata(): Record<string, string> {
    return withoutBindingFields((this.#files[0] as LazyShard).metadata());
  }

  /** How the model is protected (shared by all shards); null for a plain model. */
  encryption(): EncryptionInfo | null {
    const first = (this.#files[0] as LazyShard).encryption();
    if (!first) return null;
    return {
      ...first,
      encryptedTensors: this.#files.flatMap((file) => file.encryption()?.encryptedTensors ?? []),
    };
  }

  /** Reads (and decrypts) a whole tensor from the shard that holds it (opening that shard on first use). */
  getTensor(name: string, options: GetTensorOptions = {}): Promise<Tensor> {
    return this.fileOf(name).then((file) => file.getTensor(name, options));
  }

  /** Reads a slice of a tensor; see {@link TensorFile.getSlice}. */
  getSlice(
    name: string,
    ranges: readonly SliceRange[],
    options: GetTensorOptions = {},
  ): Promise<Tensor> {
    return this.fileOf(name).then((file) => file.getSlice(name, ranges, options));
  }

  /** Plaintext bytes `[start, end)` of a tensor into `dest`; see {@link TensorFile.readRange}. */
  readRange(name: string, start: number, end: number, dest: Uint8Array): Promise<void> {
    return this.fileOf(name).then((file) => file.readRange(name, start, end, dest));
  }

  /**
   * Bytes `readAll({ into })` needs: each shard's tensors packed as TensorFile does, each shard's
   * block starting 64-byte aligned.
   *
   * @example
   * ```ts
   * const arena = new ArrayBuffer(model.readAllByteLength());
   * ```
   */
  readAllByteLength(): number {
    return this.blocks().byteLength;
  }

  /**
   * Reads (and decrypts) every tensor of every shard, shard after shard, each in one planned pass
   * (the backend decrypts many chunks in parallel); shards not opened yet are opened first, several
   * at once. Without `into`, every tensor is a view of one fresh region for the whole model (laid
   * out as for `into`), as a single file's are. Progress counts bytes over the whole model. On
   * failure or abort every tensor already read is wiped.
   *
   * @example
   * ```ts
   * const tensors = await model.readAll({ into: new ArrayBuffer(model.readAllByteLength()) });
   * ```
   */
  async readAll(options: ReadAllOptions = {}): Promise<Record<string, Tensor>> {
    this.checkOpen();
    const { offsets, byteLength } = this.blocks();
    const arena =
      options.into === undefined ? undefined : destinationView(options.into, byteLength, "readAll");
    const bytesTotal = this.#files.reduce((sum, shard) => sum + shard.tensorBytes(), 0);
    const { results, failed, error } = await eachLimited(this.#files, this.#concurrency, (shard) =>
      shard.file(),
    );
    if (failed) rethrow(error, `cannot open the shards of ${this.path}`);
    const files = results as TensorFile[];
    // Without `into`: one fresh region for the whole model, as a single file's load has. An
    // arena per shard cost one major garbage collection each (V8 counts every arena as external
    // memory when it is made): 3 for a 3-shard model against 1, ~+50 ms CPU on a 2.4 GB load.
    const fresh = arena === undefined ? freshRegion(files, offsets, byteLength) : undefined;
    const result: Record<string, Tensor> = Object.create(null);
    let base = 0;
    try {
      for (const [i, file] of files.entries()) {
        // Transferred during an earlier shard: a typed error (subarray would throw a TypeError).
        if (arena) requireAttached(arena, byteLength);
        const start = offsets[i] as number;
        const block = (arena ?? fresh)?.subarray(start, start + file.readAllByteLength());
        const before = base;
        const shardOptions: Omit<ReadAllOptions, "into"> = {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress
            ? {
                onProgress: (p) =>
                  options.onProgress?.({
                    tensor: p.tensor,
                    bytesDone: before + p.bytesDone,
                    bytesTotal,
                  }),
              }
            : {}),
        };
        const tensors = fresh
          ? await file.readAllPrivate(block as Uint8Array, shardOptions)
          : await file.readAll({ into: block as Destination, ...shardOptions });
        Object.assign(result, tensors);
        base += (this.#files[i] as LazyShard).tensorBytes();
      }
    } catch (error) {
      // (A destination transferred meanwhile has nothing of ours left to wipe, and filling it throws.)
      for (const tensor of Object.values(result))
        wipeDestination(tensor.data, tensor.data.byteLength);
      throw error;
    }
    return result;
  }

  /** Waits for in-flight reads, wipes every shard's data keys and the parsed master keys, and closes the shards. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled(this.#files.map((shard) => shard.close())).then(
      (outcomes) => {
        this.#onClose();
        const failed = outcomes.find((o) => o.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      },
    );
    return this.#closing;
  }

  private blocks(): { offsets: number[]; byteLength: number } {
    const offsets: number[] = [];
    let end = 0;
    for (const file of this.#files) {
      const start = Math.ceil(end / ARENA_ALIGNMENT) * ARENA_ALIGNMENT;
      offsets.push(start);
      end = start + file.readAllByteLength();
    }
    return { offsets, byteLength: end };
  }

  /** The data handle of the shard holding `name`; argument errors are thrown, not rejected. */
  private fileOf(name: string): Promise<TensorFile> {
    return this.holder(name).file();
  }

  private holder(name: string): LazyShard {
    if (typeof name !== "string") throw new TypeError("tensor name must be a string");
    this.checkOpen();
    const found = this.#byName.get(name);
    if (!found)
      throw new CryptoTensorsError(
        "ERR_TENSOR_NOT_FOUND",
        `no tensor named ${JSON.stringify(name)} in the model ${this.path}; see names()`,
      );
    return found;
  }

  private checkOpen(): void {
    if (this.#closing)
      throw new CryptoTensorsError("ERR_CLOSED", `the model ${this.path} has been closed`);
  }
}

/**
 * One fresh region for every shard's block (laid out by Model.blocks), from the first shard's
 * backend; the padding between blocks is zeroed (each shard zeroes its own gaps).
 */
function freshRegion(
  files: readonly TensorFile[],
  offsets: readonly number[],
  byteLength: number,
): Uint8Array {
  const region = files[0]?.allocateFresh(byteLength) ?? new Uint8Array(0);
  let end = 0;
  files.forEach((file, i) => {
    const start = offsets[i] as number;
    if (start > end) region.fill(0, end, start);
    end = start + file.readAllByteLength();
  });
  if (region.length > end) region.fill(0, end);
  return region;
}
