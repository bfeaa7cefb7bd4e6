// Caller-supplied destinations: any ArrayBuffer, SharedArrayBuffer, TypedArray or DataView with
// room for the tensor. The tensor is written to the first `byteLength` bytes and returned as a
// Uint8Array view of them. Views are resolved through the intrinsic getters (native/views.ts): a
// subclass overriding `buffer` or `byteOffset` cannot redirect the write or the checks.
import { isResizableBuffer, viewParts } from "../native/views.js";

/** Where `getTensor(name, { into })` may write. */
export type Destination = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

export function destinationView(
  into: Destination | undefined,
  byteLength: number,
  what: string,
): Uint8Array {
  if (into === undefined) return new Uint8Array(byteLength);
  let view: Uint8Array;
  if (
    into instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" && into instanceof SharedArrayBuffer)
  ) {
    view = new Uint8Array(into);
  } else if (ArrayBuffer.isView(into)) {
    const { buffer, byteOffset, byteLength: length } = viewParts(into);
    view = new Uint8Array(buffer, byteOffset, length);
  } else {
    throw new TypeError(`into must be an ArrayBuffer, a TypedArray or a DataView (for ${what})`);
  }
  if (isResizableBuffer(view.buffer)) {
    throw new TypeError(
      `into must not be a resizable ArrayBuffer (it could shrink while ${what} is written)`,
    );
  }
  if (view.byteLength < byteLength) {
    throw new RangeError(`into holds ${view.byteLength} bytes but ${what} needs ${byteLength}`);
  }
  return view.subarray(0, byteLength);
}
