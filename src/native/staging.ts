// Plans into memory the addon does not own (issue 11 finding 3). A caller's ArrayBuffer can be
// transferred (structuredClone / postMessage with a transfer list) while a read is in flight, and
// its new owner may free it: native threads must never write there. Such plans run in windows:
// the threads decrypt into addon-owned staging (two arenas of STAGING_WINDOW bytes, double
// buffered), and the JS thread — where no transfer can interleave — checks that each destination
// is still attached and copies the verified window into it while the threads fill the other one.
// A destination detached meanwhile ends the read with ERR_DESTINATION_DETACHED, nothing written
// after it. Extra memory: two windows (or one v1 tensor, a single AEAD message, if larger).
import { TAG_LENGTH } from "../crypto/algorithms.js";
import type { CryptoTensorsError } from "../errors.js";
import type { PlanItem } from "./backend.js";
import { wipeDecryptDestinations } from "./plan-failure.js";
import { labelled } from "./plan-table.js";
import { destinationDetached, isDetached } from "./views.js";

/** Bytes of one staging window (two are used, double buffered). */
export const STAGING_WINDOW = 16 << 20;
/** Alignment of each piece inside a window. */
const PIECE_ALIGNMENT = 64;

/** A piece of a caller's item: its plan item over staging, and where its bytes go. */
interface Piece {
  item: PlanItem;
  /** Index of the caller's item (for the failing item's label). */
  owner: number;
  /** Where in the window the piece lands. */
  offset: number;
  length: number;
  /** The caller's bytes this piece fills. */
  target: Uint8Array;
}

interface Window {
  pieces: Piece[];
  byteLength: number;
}

/** Runs one plan of items whose destinations all lie in `staging` (addon memory); resolves with a status and the failing item. */
export type StagedRun = (
  items: PlanItem[],
  staging: Uint8Array,
) => Promise<{ status: number; failed: number }>;

/** Turns a native status into the typed error (null for success). */
export type StatusError = (
  status: number,
  kind: "read" | "decrypt",
  /** Index of the failing item among the items given to runStaged. */
  item: number | undefined,
) => CryptoTensorsError | null | undefined;

/**
 * Reusable staging windows: at most two are kept between plans; more are allocated when plans
 * overlap, and dropped after. The bytes a window held are wiped (they were plaintext) once the
 * event loop has nothing else to do, not at every release: back-to-back plans (a readAll's 64 MiB
 * batches) overwrite them anyway, and one wipe per burst costs a fraction of one per plan.
 */
export class StagingPool {
  readonly #spare: Uint8Array[] = [];
  /** Bytes of each window (spare or in use) that may still hold data. */
  readonly #dirty = new Map<Uint8Array, number>();
  #wipe: NodeJS.Immediate | undefined;

  constructor(private readonly allocate: (bytes: number) => Uint8Array) {}

  /** A window of at least `bytes` bytes. */
  acquire(bytes: number): Uint8Array {
    const index = this.#spare.findIndex((w) => w.byteLength >= bytes);
    if (index >= 0) return this.#spare.splice(index, 1)[0] as Uint8Array;
    return this.allocate(Math.max(bytes, Math.min(STAGING_WINDOW, 1 << 20)));
  }

  /** Gives a window back; its first `used` bytes held data. */
  release(window: Uint8Array, used: number): void {
    const dirty = Math.min(window.byteLength, Math.max(used, this.#dirty.get(window) ?? 0));
    this.#dirty.delete(window);
    if (window.byteLength > STAGING_WINDOW) {
      if (dirty > 0) window.fill(0, 0, dirty);
      return;
    }
    // Keep the two largest: a window that fits a large request fits a small one too.
    this.#spare.push(window);
    this.#spare.sort((a, b) => b.byteLength - a.byteLength);
    for (const dropped of this.#spare.splice(2)) {
      const extent = dropped === window ? dirty : (this.#dirty.get(dropped) ?? 0);
      if (extent > 0) dropped.fill(0, 0, extent);
      this.#dirty.delete(dropped);
    }
    if (!this.#spare.includes(window) || dirty === 0) return;
    this.#dirty.set(window, dirty);
    this.#wipe ??= setImmediate(() => {
      this.#wipe = undefined;
      for (const spare of this.#spare) {
        const extent = this.#dirty.get(spare);
        if (extent !== undefined) spare.fill(0, 0, extent);
        this.#dirty.delete(spare);
      }
    });
  }
}

/** Cuts the items into windows of at most `windowBytes` (an indivisible piece may exceed it). */
function cutWindows(items: readonly PlanItem[], windowBytes: number): Window[] {
  const windows: Window[] = [];
  let current: Window = { pieces: [], byteLength: 0 };
  const place = (piece: Omit<Piece, "offset">) => {
    let offset = Math.ceil(current.byteLength / PIECE_ALIGNMENT) * PIECE_ALIGNMENT;
    if (current.pieces.length > 0 && offset + piece.length > windowBytes) {
      windows.push(current);
      current = { pieces: [], byteLength: 0 };
      offset = 0;
    }
    current.pieces.push({ ...piece, offset });
    current.byteLength = offset + piece.length;
  };
  items.forEach((item, owner) => {
    if (item.kind === "read") {
      // Plain bytes split anywhere: fill the rest of the current window first.
      let start = 0;
      do {
        const room =
          windowBytes - Math.ceil(current.byteLength / PIECE_ALIGNMENT) * PIECE_ALIGNMENT;
        const length = Math.min(item.length - start, room > 0 ? room : windowBytes);
        place({
          item: { ...item, offset: item.offset + start, length, dest: new Uint8Array(0) },
          owner,
          length,
          target: item.dest.subarray(start, start + length),
        });
        start += length;
      } while (start < item.length);
      return;
    }
    const { request } = item;
    // A v1 tensor (chunkSize 0) is one AEAD message: one piece, however large.
    if (request.chunkSize === 0 || request.length === 0) {
      place({ item, owner, length: request.length, target: item.dest });
      return;
    }
    const chunks = Math.ceil(request.length / request.chunkSize);
    const perWindow = Math.max(1, Math.floor(windowBytes / request.chunkSize));
    for (let first = 0; first < chunks; ) {
      const offset = Math.ceil(current.byteLength / PIECE_ALIGNMENT) * PIECE_ALIGNMENT;
      const fit = Math.floor((windowBytes - offset) / request.chunkSize);
      const count = Math.min(chunks - first, fit > 0 ? fit : perWindow);
      const start = first * request.chunkSize;
      const end = Math.min(request.length, (first + count) * request.chunkSize);
      place({
        item: {
          kind: "decrypt",
          request: {
            ...request,
            fileOffset: request.fileOffset + start,
            length: end - start,
            firstChunk: request.firstChunk + first,
            tags: request.tags.subarray(first * TAG_LENGTH, (first + count) * TAG_LENGTH),
          },
          dest: new Uint8Array(0),
        },
        owner,
        length: end - start,
        target: item.dest.subarray(start, end),
      });
      first += count;
    }
  });
  if (current.pieces.length > 0) windows.push(current);
  return windows;
}

/** The window's plan items, each pointed at its place in `staging`. */
function windowItems(window: Window, staging: Uint8Array): PlanItem[] {
  return window.pieces.map((piece) => {
    const dest = staging.subarray(piece.offset, piece.offset + piece.length);
    return { ...piece.item, dest } as PlanItem;
  });
}

/**
 * Runs `items` (already validated against the file: packPlan) through staging windows and copies each
 * verified window into the caller's destinations on this (the JS) thread. Rejects with the typed
 * error of the first failing item (labelled), or ERR_DESTINATION_DETACHED; on any failure every
 * decrypt destination still attached is wiped.
 *
 * @example
 * ```ts
 * await runStaged(items, pool, run, (status, kind) => nativeStatusError(status, `${kind} ${path}`));
 * ```
 */
export async function runStaged(
  items: readonly PlanItem[],
  pool: StagingPool,
  run: StagedRun,
  statusError: StatusError,
): Promise<void> {
  const windows = cutWindows(items, STAGING_WINDOW);
  const largest = windows.reduce((max, w) => Math.max(max, w.byteLength), 0);
  const buffers = [pool.acquire(Math.max(1, largest))];
  if (windows.length > 1) buffers.push(pool.acquire(Math.max(1, largest)));
  const used = buffers.map(() => 0);
  type Launched = { window: Window; promise: ReturnType<StagedRun>; slot: number };
  const launch = (k: number): Launched => {
    const window = windows[k] as Window;
    const slot = k % buffers.length;
    const staging = buffers[slot] as Uint8Array;
    // Plaintext is wiped when the window goes back to the pool; plain bytes need not be.
    if (window.pieces.some((piece) => piece.item.kind === "decrypt"))
      used[slot] = Math.max(used[slot] as number, window.byteLength);
    return { window, promise: run(windowItems(window, staging), staging), slot };
  };
  const settle = async (launched: Launched): Promise<void> => {
    const { status, failed } = await launched.promise;
    if (status === 0) return;
    const piece = launched.window.pieces[failed];
    const error = statusError(status, piece?.item.kind ?? "decrypt", piece?.owner);
    if (error) throw labelled(error, piece === undefined ? undefined : items[piece.owner]?.label);
  };
  const copyOut = (launched: Launched) => {
    const staging = buffers[launched.slot] as Uint8Array;
    for (const piece of launched.window.pieces) {
      if (piece.length === 0) continue;
      if (isDetached(piece.target, piece.length)) throw destinationDetached();
      piece.target.set(staging.subarray(piece.offset, piece.offset + piece.length));
    }
  };
  let inFlight: Launched | undefined;
  try {
    let previous = windows.length > 0 ? launch(0) : undefined;
    inFlight = previous;
    for (let k = 1; previous !== undefined; k++) {
      await settle(previous);
      inFlight = k < windows.length ? launch(k) : undefined;
      copyOut(previous);
      previous = inFlight;
    }
  } catch (error) {
    // The next window may still be running: it writes only into staging, but the caller expects
    // nothing in flight once the plan has settled.
    if (inFlight) await inFlight.promise.catch(() => undefined);
    wipeDecryptDestinations(items);
    throw error;
  } finally {
    buffers.forEach((buffer, slot) => pool.release(buffer, used[slot] as number));
  }
}
