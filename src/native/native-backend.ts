// Backend over the native addon: arguments are validated here (validate.ts), the addon re-checks
// only what memory safety needs, and native status numbers become typed errors (status.ts).
import { CryptoTensorsError } from "../errors.js";
import type { Backend, BackendFile, DecryptRequest } from "./backend.js";
import { loadNativeBinding, type NativeBinding, type NativeFileHandle } from "./addon.js";
import { nativeStatusError } from "./status.js";
import { checkDecryptRequest, checkReadRange } from "./validate.js";

/** Algorithm numbers of the addon (native/aead.h AeadAlgorithm). */
const ALGORITHM_IDS = { aes128gcm: 0, aes256gcm: 1, chacha20poly1305: 2 } as const;

function closedError(path: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_CLOSED", `${path}: the file has been closed; open it again to read`);
}

class NativeBackendFile implements BackendFile {
  readonly size: number;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly handle: NativeFileHandle,
  ) {
    this.size = handle.size;
  }

  async readInto(offset: number, length: number, dest: Uint8Array): Promise<void> {
    checkReadRange(this.size, offset, length, dest);
    if (this.#closing) throw closedError(this.path);
    const status = await this.handle.read(offset, length, dest);
    const error = nativeStatusError(status, `reading ${this.path}`);
    if (error) throw error;
  }

  async decryptInto(request: DecryptRequest, dest: Uint8Array): Promise<void> {
    checkDecryptRequest(this.size, request, dest);
    if (this.#closing) throw closedError(this.path);
    const status = await this.handle.decrypt(
      ALGORITHM_IDS[request.algorithm],
      request.key,
      request.fileOffset,
      request.length,
      request.chunkSize,
      request.firstChunk,
      request.baseIv,
      request.tags,
      dest,
    );
    const error = nativeStatusError(status, `decrypting ${this.path}`);
    if (error) throw error;
  }

  close(): Promise<void> {
    // The addon defers the actual close(2) until in-flight reads finish; repeated calls share it.
    this.#closing ??= this.handle.close();
    return this.#closing;
  }
}

/**
 * The native backend. Construct through `getBackend("native")` rather than directly.
 *
 * @example
 * ```ts
 * const file = await new NativeBackend(loadNativeBinding()).open("model.safetensors");
 * await file.readInto(0, 8, new Uint8Array(8));
 * ```
 */
export class NativeBackend implements Backend {
  readonly name = "native" as const;

  constructor(private readonly binding: NativeBinding = loadNativeBinding()) {}

  async open(path: string): Promise<BackendFile> {
    if (typeof path !== "string") throw new TypeError("path must be a string");
    if (path.length === 0 || path.includes("\0")) {
      throw new TypeError("path must be a non-empty string without NUL characters");
    }
    const result = await this.binding.openFile(path);
    if (typeof result === "number") {
      throw nativeStatusError(result, `opening ${path}`) ?? new CryptoTensorsError("ERR_INTERNAL", `opening ${path}`);
    }
    return new NativeBackendFile(path, result);
  }
}
