// A BackendFile over any ByteSource, decrypting with node:crypto: the fallback backend's file, and
// what both backends use for sources that are not a local path (the native fast path maps local
// files only). Same semantics, checks and error codes as the native file (validate.ts). node:crypto
// keeps its own copy of the key inside its cipher context (freed, and wiped by OpenSSL, when the
// decipher is collected); we cannot wipe that copy from here.
import { type CipherGCMTypes, createDecipheriv, type DecipherGCM } from "node:crypto";
import { decryptionFailed } from "../crypto/aead.js";
import { IV_LENGTH, nodeCipherName, TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkBounds, coveredChunks, rangeChunkIv } from "../crypto/chunks.js";
import { CryptoTensorsError } from "../errors.js";
import type { ByteSource, SourcePiece } from "../source/byte-source.js";
import type { BackendCallOptions, BackendFile, DecryptRequest, PlanItem } from "./backend.js";
import { InFlight } from "./in-flight.js";
import { planFailure, wipeDecryptDestinations } from "./plan-failure.js";
import { labelled, packPlan } from "./plan-table.js";
import { checkDecryptRequest, checkReadRange } from "./validate.js";
import { requireAttached, wipeDestination } from "./views.js";

/** Ciphertext read and decrypted per step. */
const DECRYPT_SLICE = 4 << 20;
/** Step of the in-place decryption of a fetched chunk. */
const IN_PLACE_SLICE = 64 << 10;

/**
 * The BackendFile of a {@link ByteSource}; it owns the source and closes it on `close()`.
 *
 * @example
 * ```ts
 * const file = new SourceBackendFile(await openFileSource("model.safetensors"));
 * await file.readInto(0, 8, new Uint8Array(8));
 * await file.close();
 * ```
 */
export class SourceBackendFile implements BackendFile {
  readonly size: number;
  readonly #calls: InFlight;

  constructor(private readonly source: ByteSource) {
    this.size = source.size;
    this.#calls = new InFlight(source.identity.name);
  }

  allocate(byteLength: number): Uint8Array {
    return new Uint8Array(byteLength);
  }

  async readInto(
    offset: number,
    length: number,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void> {
    checkReadRange(this.size, offset, length, dest);
    await this.#track(async () => {
      // node:fs reads on libuv's threads: into our own buffer, never into the caller's, which
      // could be transferred and freed meanwhile. Each slice is copied on this (the JS) thread
      // once the destination is checked to be still attached.
      const landed = Buffer.allocUnsafe(Math.min(DECRYPT_SLICE, length));
      for (let pos = 0; pos < length; pos += DECRYPT_SLICE) {
        const slice = landed.subarray(0, Math.min(DECRYPT_SLICE, length - pos));
        await this.source.read(offset + pos, slice.byteLength, slice, options);
        requireAttached(dest, length);
        dest.set(slice, pos);
      }
      requireAttached(dest, length);
    });
  }

  async decryptInto(
    request: DecryptRequest,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void> {
    const chunks = checkDecryptRequest(this.size, request, dest);
    if (this.source.readPieces) {
      await this.runPlan([{ kind: "decrypt", request, dest }], options);
      return;
    }
    await this.#track(async () => {
      try {
        for (let i = 0; i < chunks; i++) await this.#decryptChunk(request, i, dest, options);
      } catch (error) {
        // Never leave partial plaintext in the caller's buffer.
        wipeDestination(dest, request.length);
        throw error;
      }
    });
  }

  async runPlan(items: readonly PlanItem[], options?: BackendCallOptions): Promise<void> {
    packPlan(this.size, items).keys.fill(0); // the same validation as the native backend
    if (this.source.readPieces) {
      await this.#track(() => this.#runPieces(items, options));
      return;
    }
    let current: PlanItem | undefined;
    try {
      for (const item of items) {
        current = item;
        if (item.kind === "read") await this.readInto(item.offset, item.length, item.dest, options);
        else await this.decryptInto(item.request, item.dest, options);
      }
    } catch (error) {
      wipeDecryptDestinations(items);
      throw error instanceof CryptoTensorsError ? labelled(error, current?.label) : error;
    }
  }

  close(): Promise<void> {
    return this.#calls.close(() => this.source.close());
  }

  /**
   * The batch path of sources that fetch many ranges at once (HTTP): every read item and every
   * chunk of every decrypt item becomes a piece read straight into its destination; each chunk is
   * decrypted in place as soon as its bytes are in, while the others are still arriving. A v1
   * tensor is one piece, decrypted once complete.
   */
  async #runPieces(items: readonly PlanItem[], options?: BackendCallOptions): Promise<void> {
    const pieces: SourcePiece[] = [];
    const owners: { item: PlanItem; chunk: number }[] = [];
    for (const item of items) {
      if (item.kind === "read") {
        pieces.push({ offset: item.offset, length: item.length, dest: item.dest });
        owners.push({ item, chunk: -1 });
        continue;
      }
      const { request } = item;
      const chunks = coveredChunks(request.length, request.chunkSize);
      for (let i = 0; i < chunks; i++) {
        const { start, end } = chunkBounds(request.length, request.chunkSize, i);
        pieces.push({
          offset: request.fileOffset + start,
          length: end - start,
          dest: item.dest.subarray(start, end),
          ciphertext: true,
        });
        owners.push({ item, chunk: i });
      }
    }
    let current: PlanItem | undefined;
    try {
      await this.source.readPieces?.(pieces, {
        signal: options?.signal,
        onPiece: (index) => {
          const owner = owners[index] as (typeof owners)[number];
          if (owner.item.kind !== "decrypt") return;
          current = owner.item;
          openChunk(owner.item.request, owner.chunk, (pieces[index] as SourcePiece).dest);
          current = undefined;
        },
      });
    } catch (error) {
      throw planFailure(items, error, current?.label);
    }
  }

  /** Runs `work` unless closing (checked after argument validation, as natively), and keeps it visible to close() until it settles. */
  #track(work: () => Promise<void>): Promise<void> {
    this.#calls.checkOpen();
    return this.#calls.track(work());
  }

  /** Reads chunk `i` of `request` (in slices) and decrypts it in place. */
  async #decryptChunk(
    request: DecryptRequest,
    i: number,
    dest: Uint8Array,
    options: BackendCallOptions | undefined,
  ): Promise<void> {
    const { start, end } = chunkBounds(request.length, request.chunkSize, i);
    const decipher = chunkDecipher(request, i);
    // Ciphertext is read once into our own buffer, and the plaintext stays in our own buffers
    // until the tag has verified (issue 20): the caller's destination never holds plaintext of a
    // message whose tag fails, and no read writes into it while the caller could detach it.
    const landed = Buffer.allocUnsafe(Math.min(DECRYPT_SLICE, end - start));
    const plain: Buffer[] = [];
    try {
      for (let pos = start; pos < end; pos += DECRYPT_SLICE) {
        const slice = landed.subarray(0, Math.min(end - pos, DECRYPT_SLICE));
        await this.source.read(request.fileOffset + pos, slice.byteLength, slice, options);
        plain.push(decipher.update(slice));
      }
      try {
        decipher.final();
      } catch {
        throw decryptionFailed();
      }
      requireAttached(dest, request.length);
      let at = start;
      for (const piece of plain) {
        dest.set(piece, at);
        at += piece.byteLength;
      }
    } finally {
      for (const piece of plain) piece.fill(0);
    }
  }
}

/** Decrypts chunk `i` of `request` in place in `bytes` (its ciphertext); wrong tag → ERR_DECRYPTION_FAILED. */
function openChunk(request: DecryptRequest, i: number, bytes: Uint8Array): void {
  const decipher = chunkDecipher(request, i);
  // Small steps: decipher.update returns a fresh buffer each time, and below malloc's mmap
  // threshold those come back from the heap already mapped (2 MiB ones would page-fault anew).
  for (let pos = 0; pos < bytes.length; pos += IN_PLACE_SLICE) {
    const slice = bytes.subarray(pos, Math.min(bytes.length, pos + IN_PLACE_SLICE));
    slice.set(decipher.update(slice));
  }
  try {
    decipher.final();
  } catch {
    throw decryptionFailed();
  }
}

/** The decipher of chunk `i` of `request`, its nonce and tag set. */
function chunkDecipher(request: DecryptRequest, i: number): DecipherGCM {
  const iv = rangeChunkIv(request.baseIv, request.chunkSize, request.firstChunk, i);
  // chacha20-poly1305 is typed as a GCM name only to share the DecipherGCM surface.
  const decipher: DecipherGCM = createDecipheriv(
    nodeCipherName(request.algorithm) as CipherGCMTypes,
    request.key,
    iv.subarray(0, IV_LENGTH),
    { authTagLength: TAG_LENGTH },
  );
  decipher.setAuthTag(request.tags.subarray(i * TAG_LENGTH, (i + 1) * TAG_LENGTH));
  return decipher;
}
