// Turns the numeric status of a native operation (native/status.h) into a typed error thrown
// from a TypeScript stack frame.
import { getSystemErrorName } from "node:util";
import { decryptionFailed } from "../crypto/aead.js";
import { CryptoTensorsError } from "../errors.js";
import { destinationDetached } from "./views.js";

/** Native status codes; keep in sync with native/status.h. */
export const NativeStatus = {
  ok: 0,
  decryptFailed: 1,
  counterOverflow: 2,
  truncated: 3,
  closed: 4,
  notRegularFile: 5,
  internal: 6,
  messageTooLong: 7,
  detached: 8,
} as const;

function systemErrorName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/**
 * The error for a non-zero native status, or `undefined` for success. `what` describes the
 * operation for the message (e.g. `"reading /m.safetensors"`).
 *
 * @example
 * ```ts
 * const error = nativeStatusError(await handle.read(0, 8, dest), `reading ${path}`);
 * if (error) throw error;
 * ```
 */
export function nativeStatusError(status: number, what: string): CryptoTensorsError | undefined {
  switch (status) {
    case NativeStatus.ok:
      return undefined;
    case NativeStatus.decryptFailed:
      return decryptionFailed();
    case NativeStatus.counterOverflow:
      return new CryptoTensorsError(
        "ERR_COUNTER_OVERFLOW",
        "chunk IV counter would overflow 32 bits",
      );
    case NativeStatus.truncated:
      return new CryptoTensorsError(
        "ERR_FILE_TRUNCATED",
        `${what}: the file ended early (was it truncated while open?)`,
      );
    case NativeStatus.closed:
      return new CryptoTensorsError("ERR_CLOSED", `${what}: the file has been closed`);
    case NativeStatus.messageTooLong:
      return new CryptoTensorsError(
        "ERR_ENCRYPTION_INVALID",
        `${what}: a v1 tensor or v2 chunk exceeds the AEAD's per-message limit (64 GiB for AES-GCM)`,
      );
    case NativeStatus.detached:
      return destinationDetached();
    case NativeStatus.notRegularFile:
      return new CryptoTensorsError("ERR_IO", `${what}: not a regular file`);
    default:
      if (status < 0) {
        return new CryptoTensorsError("ERR_IO", `${what} failed: ${systemErrorName(-status)}`);
      }
      return new CryptoTensorsError("ERR_INTERNAL", `${what}: native status ${status}`);
  }
}
