// The native backend's file over a source that fetches ranges in batches (HTTP): ciphertext is
// received straight into addon-owned memory (openMemory, native/memory-file.h) and each chunk is
// decrypted on the addon's thread pool as soon as its bytes are in, while the others are still
// arriving, by the same plans and kernels as a mapped local file. Before this, remote chunks were
// decrypted with node:crypto on the JS thread, which made a full remote load 4.5x slower than a
// local one (issue 16). Plain reads need no decryption and land in their destination directly.
//
// Every batch (runPlan) stages its chunks in memory of its own, packed one after another: a chunk
// is written by its fetch only, read once by its plan (which then drops its pages), so batches
// running at once never share a byte and a full load never holds a second copy of the model.
// A fresh destination (destPrivate: an arena this file allocated, shown to nobody before the
// batch settles) needs no staging at all: each chunk's ciphertext is received straight into its
// own place in the destination and decrypted there in place (openArenaView). That saves the
// staging memory's page faults and a copy per byte, ~half the CPU time of a full load (issue 16).
import { TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkBounds, coveredChunks } from "../crypto/chunks.js";
import { CryptoTensorsError } from "../errors.js";
import {
  type ByteSource,
  type InPlaceDecrypt,
  PieceDecryptFailed,
  type SourcePiece,
} from "../source/byte-source.js";
import type { NativeBinding, NativeFileHandle } from "./addon.js";
import type { BackendCallOptions, BackendFile, DecryptRequest, PlanItem } from "./backend.js";
import { InFlight } from "./in-flight.js";
import { allocateDestination, runPackedPlan } from "./native-plans.js";
import { planFailure } from "./plan-failure.js";
import { packPlan } from "./plan-table.js";
import { runStaged, type StagingPool } from "./staging.js";
import { nativeStatusError } from "./status.js";
import { checkDecryptRequest, checkReadRange } from "./validate.js";

/** A source that reads many pieces in one batch (see ByteSource.readPieces). */
export type BatchSource = ByteSource & Required<Pick<ByteSource, "readPieces">>;

/**
 * One staging area holds at most this much: a Uint8Array over more than 4 GiB is refused by
 * Node 20, and smaller areas are unmapped sooner.
 */
const STAGE_LIMIT = 1 << 30;
/** Stage numbers from here on name in-place stages until the staging stages are counted. */
const STAGE_IN_PLACE = 2 ** 40;
/** Plain reads are fetched in pieces of this size, so large ones are spread over connections. */
const READ_PIECE = 4 << 20;

/**
 * Where chunks wait for their plan: staging memory of this batch, or (`inPlace`) the caller's
 * fresh destination itself, whose chunks are decrypted where they landed.
 */
interface Stage {
  handle: NativeFileHandle;
  memory: Uint8Array;
  inPlace: boolean;
}

/** A chunk (or v1 tensor) waiting in a stage: the plan item that decrypts it. */
interface StagedChunk {
  stage: number;
  item: PlanItem & { kind: "decrypt" };
  /** Index of the caller's item, for wiping and error labels. */
  owner: number;
  /** In place: the plan the source may run where the chunk lands (then `done`, not run here). */
  decrypt?: InPlaceDecrypt;
}

/**
 * The {@link BackendFile} of a batch source on the native backend; it owns the source.
 *
 * @example
 * ```ts
 * const binding = loadNativeBinding();
 * const pool = new StagingPool((bytes) => new Uint8Array(binding.allocateArena(bytes)));
 * const file = new StagedSourceFile(await openHttpSource(url), binding, pool);
 * await file.runPlan([{ kind: "decrypt", request, dest }]);
 * ```
 */
export class StagedSourceFile implements BackendFile {
  readonly size: number;
  readonly #source: BatchSource;
  readonly #binding: NativeBinding;
  readonly #staging: StagingPool;
  readonly #calls: InFlight;

  constructor(source: BatchSource, binding: NativeBinding, staging: StagingPool) {
    this.#source = source;
    this.#binding = binding;
    this.#staging = staging;
    this.#calls = new InFlight(source.identity.name);
    this.size = source.size;
  }

  /**
   * See BackendFile.wholeLoadPlan: true. A batch's chunks land in their fresh destination (or in
   * staging whose pages each chunk's plan drops once read), so one batch over a whole load holds
   * no more memory than several; and batches in a row would each end with a tail where only
   * some connections are busy, and a JS turn before the next batch's requests (issue 16).
   */
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
    await this.runPlan([{ kind: "read", offset, length, dest }], options);
  }

  async decryptInto(
    request: DecryptRequest,
    dest: Uint8Array,
    options?: BackendCallOptions,
  ): Promise<void> {
    checkDecryptRequest(this.size, request, dest);
    await this.runPlan([{ kind: "decrypt", request, dest }], options);
  }

  async runPlan(items: readonly PlanItem[], options?: BackendCallOptions): Promise<void> {
    packPlan(this.size, items).keys.fill(0); // the same validation as a mapped file
    this.#calls.checkOpen();
    await this.#calls.track(this.#run(items, options));
  }

  close(): Promise<void> {
    return this.#calls.close(() => this.#source.close());
  }

  async #run(items: readonly PlanItem[], options: BackendCallOptions | undefined): Promise<void> {
    const pieces: SourcePiece[] = [];
    const staged: (StagedChunk | undefined)[] = [];
    const stageSizes: number[] = [];
    const slots: number[] = [];
    // Stages over caller destinations (in place), opened first; staging memory follows them.
    const inPlace: Stage[] = [];
    const stageFor = (length: number): number => {
      const last = stageSizes.length - 1;
      if (last < 0 || (stageSizes[last] as number) + length > STAGE_LIMIT) {
        stageSizes.push(0);
        return last + 1;
      }
      return last;
    };
    const close = (stages: readonly Stage[]) =>
      Promise.allSettled(stages.map((stage) => stage.handle.close()));
    items.forEach((item, owner) => {
      if (item.kind === "read") {
        for (let start = 0; start < item.length; start += READ_PIECE) {
          const end = Math.min(item.length, start + READ_PIECE);
          pieces.push({
            offset: item.offset + start,
            length: end - start,
            dest: item.dest.subarray(start, end),
          });
          staged.push(undefined);
          slots.push(0);
        }
        return;
      }
      const { request } = item;
      const whole = request.chunkSize === 0;
      const chunks = coveredChunks(request.length, request.chunkSize);
      const dest = item.dest.subarray(0, request.length);
      // Plans of one or two chunks each would leave the destination to 4 KiB page faults.
      this.#binding.adviseHugePages(dest);
      const direct = options?.destPrivate === true && this.#directStage(dest, inPlace);
      for (let i = 0; i < chunks; i++) {
        const { start, end } = chunkBounds(request.length, request.chunkSize, i);
        const length = end - start;
        let stage: number;
        let slot: number;
        if (direct) {
          // Numbered after the staging stages, once those are counted (see below).
          stage = STAGE_IN_PLACE + inPlace.length - 1;
          slot = start;
        } else {
          // A v1 tensor (one AEAD message) larger than a stage gets a stage of its own.
          stage = stageFor(Math.min(length, STAGE_LIMIT));
          slot = stageSizes[stage] as number;
          stageSizes[stage] = slot + length;
        }
        pieces.push({
          offset: request.fileOffset + start,
          length,
          dest: new Uint8Array(0),
          owned: true,
          ciphertext: true,
        });
        slots.push(slot);
        const chunk: StagedChunk = {
          stage,
          owner,
          item: {
            kind: "decrypt",
            dest: item.dest.subarray(start, end),
            request: {
              ...request,
              fileOffset: slot,
              length,
              firstChunk: whole ? request.firstChunk : request.firstChunk + i,
              tags: request.tags.subarray(i * TAG_LENGTH, (i + 1) * TAG_LENGTH),
            },
          },
        };
        if (direct) {
          // The receiving thread may decrypt it in place as soon as it is in, while it is still
          // in that core's cache, instead of a pool plan started from here (issue 16).
          const stageView = inPlace[inPlace.length - 1] as Stage;
          const packed = packPlan(stageView.memory.byteLength, [chunk.item]);
          chunk.decrypt = { handle: stageView.handle, ...packed, destPrivate: true, done: false };
          (pieces[pieces.length - 1] as SourcePiece).decrypt = chunk.decrypt;
        }
        staged.push(chunk);
      }
    });

    let stages: Stage[];
    try {
      stages = [...stageSizes.map((size) => this.#openStage(size)), ...inPlace];
    } catch (error) {
      await close(inPlace);
      throw error;
    }
    staged.forEach((chunk, index) => {
      if (chunk === undefined) return;
      if (chunk.stage >= STAGE_IN_PLACE) chunk.stage += stageSizes.length - STAGE_IN_PLACE;
      const piece = pieces[index] as SourcePiece;
      const memory = (stages[chunk.stage] as Stage).memory;
      const slot = slots[index] as number;
      piece.dest = memory.subarray(slot, slot + piece.length);
    });

    const plans: Promise<void>[] = [];
    let failure: { error: unknown; owner: number | undefined } | undefined;
    let pending: StagedChunk[] = [];
    let scheduled: NodeJS.Immediate | undefined;
    // Chunks completed during one turn of the event loop are decrypted by one plan per stage.
    const flush = () => {
      scheduled = undefined;
      const batch = pending;
      pending = [];
      if (failure !== undefined || batch.length === 0) return;
      for (let stage = 0; stage < stages.length; stage++) {
        const chunks = batch.filter((chunk) => chunk.stage === stage);
        if (chunks.length > 0) plans.push(this.#decrypt(stages[stage]!, chunks, onFailure));
      }
    };
    const onFailure = (error: unknown, owner: number | undefined) => {
      failure ??= { error, owner };
    };
    try {
      await this.#source.readPieces(pieces, {
        signal: options?.signal,
        onPiece: (index) => {
          const chunk = staged[index];
          if (chunk === undefined || chunk.decrypt?.done === true) return;
          pending.push(chunk);
          scheduled ??= setImmediate(flush);
        },
      });
    } catch (error) {
      if (error instanceof PieceDecryptFailed) {
        const owner = staged.find((chunk) => chunk?.decrypt === error.decrypt)?.owner;
        onFailure(
          nativeStatusError(error.status, `decrypting ${this.#source.identity.name}`) ?? error,
          owner,
        );
      } else onFailure(error, undefined);
    } finally {
      if (scheduled !== undefined) clearImmediate(scheduled);
      flush();
      for (const chunk of staged) chunk?.decrypt?.keys.fill(0);
      await Promise.allSettled(plans);
      await Promise.allSettled(stages.map((stage) => stage.handle.close()));
    }
    if (failure === undefined) return;
    const { error, owner } = failure;
    throw planFailure(items, error, owner === undefined ? undefined : items[owner]?.label);
  }

  /**
   * Opens an in-place stage over `dest` (a fresh destination of this batch) and adds it to
   * `stages`; false when `dest` is not arena memory (then its chunks are staged).
   */
  #directStage(dest: Uint8Array, stages: Stage[]): boolean {
    if (dest.length === 0 || !this.#binding.isArenaMemory(dest)) return false;
    const handle = this.#binding.openArenaView(dest);
    if (typeof handle === "number") return false; // staged instead: slower, never wrong
    stages.push({ handle, memory: dest, inPlace: true });
    return true;
  }

  #openStage(size: number): Stage {
    const opened = this.#binding.openMemory(size);
    if (typeof opened === "number") {
      throw (
        nativeStatusError(opened, `staging ${size} bytes of ${this.#source.identity.name}`) ??
        new CryptoTensorsError("ERR_INTERNAL", `staging ${this.#source.identity.name}`)
      );
    }
    return { handle: opened.handle, memory: new Uint8Array(opened.memory), inPlace: false };
  }

  /** Decrypts staged chunks (all complete) into their destinations on the addon's pool. */
  async #decrypt(
    stage: Stage,
    chunks: readonly StagedChunk[],
    onFailure: (error: unknown, owner: number | undefined) => void,
  ): Promise<void> {
    const items = chunks.map((chunk) => chunk.item);
    // The addon's threads write only into memory it owns (issue 11 finding 3): a caller's
    // destination gets the plaintext through staging windows, copied on the JS thread.
    const owned = items.every(
      (item) =>
        item.request.length === 0 ||
        this.#binding.isArenaMemory(item.dest.subarray(0, item.request.length)),
    );
    if (!owned) {
      let owner: number | undefined;
      // Staging is ours alone until the window is copied out (and wiped on failure).
      const run = (windowItems: PlanItem[]) =>
        runPackedPlan(stage.handle, packPlan(stage.memory.byteLength, windowItems), true);
      try {
        await runStaged(items, this.#staging, run, (status, _kind, index) => {
          owner = index === undefined ? undefined : chunks[index]?.owner;
          return nativeStatusError(status, `decrypting ${this.#source.identity.name}`);
        });
      } catch (error) {
        onFailure(error, owner);
      }
      return;
    }
    try {
      const packed = packPlan(stage.memory.byteLength, items);
      // In place: the chunks decrypt where they landed, in one fused pass (the destination is
      // private to this batch, which wipes it on failure).
      const { status, failed } = await runPackedPlan(stage.handle, packed, stage.inPlace);
      const error = nativeStatusError(status, `decrypting ${this.#source.identity.name}`);
      if (error) onFailure(error, chunks[failed]?.owner);
    } catch (error) {
      onFailure(error, undefined);
    }
  }
}
