// One shard of an opened model whose data handle is opened on first use. Its header was read and
// (when encrypted) its signature and policy checked by openModel, which also checked the set
// binding over every shard's header; until a tensor of the shard is read, nothing else happens:
// no master key is asked for, no data key unwrapped, no file handle held. The first read opens the
// shard as openFile does (signature and policy checked again, data keys unwrapped) and refuses it
// unless its header is byte-for-byte the one checked at open, so a file swapped on disk in between
// cannot slip in.
import { CryptoTensorsError } from "../errors.js";
import type { ParsedHeader, TensorEntry } from "../format/types.js";
import { encryptionInfo, tensorInfo, userMetadata } from "../reader/describe.js";
import { arenaLayout } from "../reader/read-all.js";
import type { EncryptionInfo, TensorFile, TensorInfo } from "../reader/tensor-file.js";
import type { Unlocked } from "../reader/unlock.js";

/** What openModel verified about a shard: its header and, when encrypted, its envelope (no keys). */
export interface VerifiedShard {
  header: ParsedHeader;
  /** The envelope as checked without the master key; null for a plain shard or an opened one. */
  envelope: Unlocked | null;
}

/**
 * A shard of a {@link Model}: answers names, info, metadata and encryption from the verified
 * header, and opens its data handle once, on the first read.
 *
 * @example
 * ```ts
 * const shard = new LazyShard("model-00001-of-00002.safetensors", verified, null, () => openShard(location, options));
 * const file = await shard.file(); // opened, unlocked and checked against the verified header
 * ```
 */
export class LazyShard {
  readonly #header: ParsedHeader;
  readonly #envelope: Unlocked | null;
  /** The tensors this shard serves, in file order: all, or those requested at open. */
  readonly #visible: TensorEntry[];
  readonly #open: () => Promise<TensorFile>;
  /** The handle openModel already opened: it answers for itself (it knows its envelope). */
  readonly #ready: TensorFile | undefined;
  #file: Promise<TensorFile> | null = null;
  #closed = false;

  constructor(
    /** The shard's file name in the model directory. */
    readonly name: string,
    verified: VerifiedShard,
    requested: readonly string[] | null,
    open: () => Promise<TensorFile>,
    /** A handle already opened (and checked) by openModel, if any. */
    opened?: TensorFile,
  ) {
    this.#header = verified.header;
    this.#envelope = verified.envelope;
    const wanted = requested === null ? null : new Set(requested);
    this.#visible =
      wanted === null
        ? verified.header.tensors
        : verified.header.tensors.filter((t) => wanted.has(t.name));
    this.#open = open;
    this.#ready = opened;
    if (opened) this.#file = Promise.resolve(opened);
  }

  /** Tensor names in file order. */
  names(): string[] {
    if (this.#ready) return this.#ready.names();
    return this.#visible.map((t) => t.name);
  }

  /** As {@link TensorFile.info}; `name` must be one of {@link names}. */
  info(name: string): TensorInfo {
    if (this.#ready) return this.#ready.info(name);
    const entry = this.#visible.find((t) => t.name === name);
    if (!entry) throw new RangeError(`${JSON.stringify(name)} is not in shard ${this.name}`);
    return tensorInfo(entry, this.#envelope);
  }

  /** As {@link TensorFile.metadata}: the non-reserved `__metadata__` entries. */
  metadata(): Record<string, string> {
    if (this.#ready) return this.#ready.metadata();
    return userMetadata(this.#header);
  }

  /** As {@link TensorFile.encryption}. */
  encryption(): EncryptionInfo | null {
    if (this.#ready) return this.#ready.encryption();
    return encryptionInfo(this.#envelope, this.names());
  }

  /** As {@link TensorFile.readAllByteLength}. */
  readAllByteLength(): number {
    if (this.#ready) return this.#ready.readAllByteLength();
    return arenaLayout(this.#visible.map((t) => t.dataOffsets[1] - t.dataOffsets[0])).byteLength;
  }

  /** Plaintext bytes of the tensors this shard serves. */
  tensorBytes(): number {
    return this.#visible.reduce((sum, t) => sum + t.dataOffsets[1] - t.dataOffsets[0], 0);
  }

  /** True once the data handle has been asked for. */
  get opened(): boolean {
    return this.#file !== null;
  }

  /**
   * The shard's data handle, opened on the first call (concurrent callers share it). A failed
   * open is not remembered, so a later read tries again (and is checked again).
   */
  file(): Promise<TensorFile> {
    if (this.#closed) return Promise.reject(closedError(this.name));
    this.#file ??= this.#openChecked().catch((error: unknown) => {
      this.#file = null;
      throw error;
    });
    return this.#file;
  }

  /** Closes the data handle if it was opened (waiting for its reads); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#file;
    if (pending === null) return;
    const file = await pending.catch(() => null);
    await file?.close();
  }

  async #openChecked(): Promise<TensorFile> {
    const file = await this.#open();
    try {
      if (this.#closed) throw closedError(this.name);
      // The same bytes were verified at open and bound into the model: anything else is a file
      // replaced on disk since (another model's shard, an older version of this one).
      if (JSON.stringify(file.verifiedHeader()) !== JSON.stringify(this.#header))
        throw new CryptoTensorsError(
          "ERR_MODEL_BINDING",
          `shard ${this.name} changed on disk after the model was opened: its header is not the one verified and bound at open; open the model again`,
        );
      return file;
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }
}

function closedError(shard: string): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_CLOSED",
    `the model holding shard ${shard} has been closed; open it again to read`,
  );
}
