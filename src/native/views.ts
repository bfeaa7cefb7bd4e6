// The engine's own view of TypedArrays and ArrayBuffers: getters captured from the intrinsic
// prototypes when this module loads, so that a subclass overriding `buffer`, `byteLength` or
// `byteOffset` cannot make a check look at memory other than the memory that will be written.
import { types } from "node:util";
import { CryptoTensorsError } from "../errors.js";

type Getter<T> = (this: unknown) => T;

function intrinsicGetter<T>(prototype: object, name: string): Getter<T> | undefined {
  return Object.getOwnPropertyDescriptor(prototype, name)?.get as Getter<T> | undefined;
}

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedBuffer = intrinsicGetter<ArrayBufferLike>(
  TypedArrayPrototype,
  "buffer",
) as Getter<ArrayBufferLike>;
const typedByteLength = intrinsicGetter<number>(
  TypedArrayPrototype,
  "byteLength",
) as Getter<number>;
const typedByteOffset = intrinsicGetter<number>(
  TypedArrayPrototype,
  "byteOffset",
) as Getter<number>;
const viewBuffer = intrinsicGetter<ArrayBufferLike>(
  DataView.prototype,
  "buffer",
) as Getter<ArrayBufferLike>;
const viewByteLength = intrinsicGetter<number>(DataView.prototype, "byteLength") as Getter<number>;
const viewByteOffset = intrinsicGetter<number>(DataView.prototype, "byteOffset") as Getter<number>;
const bufferResizable = intrinsicGetter<boolean>(ArrayBuffer.prototype, "resizable");
const bufferByteLength = intrinsicGetter<number>(
  ArrayBuffer.prototype,
  "byteLength",
) as Getter<number>;
const sharedByteLength =
  typeof SharedArrayBuffer === "undefined"
    ? undefined
    : intrinsicGetter<number>(SharedArrayBuffer.prototype, "byteLength");
const isTypedArray = (value: unknown): boolean => {
  try {
    typedByteLength.call(value);
    return true;
  } catch {
    return false;
  }
};

/**
 * True for a SharedArrayBuffer (which can neither be detached nor shrink). A brand check, like
 * the intrinsic getter, but without the exception the getter throws for every other buffer: this
 * runs for each destination of every read and seal job.
 */
export function isSharedBuffer(buffer: unknown): boolean {
  return types.isSharedArrayBuffer(buffer);
}

/** True for an ArrayBuffer (not shared) created resizable. */
export function isResizableBuffer(buffer: unknown): boolean {
  if (bufferResizable === undefined || isSharedBuffer(buffer)) return false;
  try {
    return bufferResizable.call(buffer) === true;
  } catch {
    return false;
  }
}

/** The real buffer, offset and length of a TypedArray or DataView. */
export function viewParts(view: ArrayBufferView): {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
} {
  if (isTypedArray(view)) {
    return {
      buffer: typedBuffer.call(view),
      byteOffset: typedByteOffset.call(view),
      byteLength: typedByteLength.call(view),
    };
  }
  return {
    buffer: viewBuffer.call(view),
    byteOffset: viewByteOffset.call(view),
    byteLength: viewByteLength.call(view),
  };
}

/** Current byte length of an ArrayBuffer or SharedArrayBuffer (0 once an ArrayBuffer is detached). */
export function bufferLength(buffer: ArrayBufferLike): number {
  return isSharedBuffer(buffer)
    ? (sharedByteLength as Getter<number>).call(buffer)
    : bufferByteLength.call(buffer);
}

/**
 * The error of a read whose destination was transferred (structuredClone / postMessage with a
 * transfer list) or detached while the read was in flight: its result has nowhere to go.
 *
 * @example
 * ```ts
 * if (isDetached(dest)) throw destinationDetached();
 * ```
 */
export function destinationDetached(): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_DESTINATION_DETACHED",
    "the destination buffer was transferred or detached while the read was in flight; keep it attached until the read settles",
  );
}

/** True when `dest` now holds fewer than `length` bytes (its buffer was detached or transferred). */
export function isDetached(dest: Uint8Array, length: number): boolean {
  return typedByteLength.call(dest) < length;
}

/**
 * Throws ERR_DESTINATION_DETACHED when `dest` no longer holds `length` bytes.
 *
 * @example
 * ```ts
 * requireAttached(dest, request.length);
 * dest.set(plaintext);
 * ```
 */
export function requireAttached(dest: Uint8Array, length: number): void {
  if (isDetached(dest, length)) throw destinationDetached();
}

/**
 * Zeroes `dest[0 .. length)` unless its buffer was detached meanwhile (then there is nothing of
 * ours left to wipe, and filling a detached view would throw).
 *
 * @example
 * ```ts
 * wipeDestination(dest, request.length);
 * ```
 */
export function wipeDestination(dest: Uint8Array, length: number): void {
  const available = typedByteLength.call(dest);
  if (available > 0) dest.fill(0, 0, Math.min(length, available));
}
