// Pure TypeScript backend (node:fs + node:crypto) with the same semantics and error codes as the
// native one; used when the addon cannot load, and as the reference the native path is tested
// against. node:crypto keeps its own copy of the key inside its cipher context (freed, and wiped
// by OpenSSL, when the decipher is collected); we cannot wipe that copy from here.
import { constants, promises as fs } from "node:fs";
import { createDecipheriv, type CipherGCMTypes, type DecipherGCM } from "node:crypto";
import { decryptionFailed } from "../crypto/aead.js";
import { IV_LENGTH, nodeCipherName, TAG_LENGTH } from "../crypto/algorithms.js";
import { chunkIv } from "../crypto/chunks.js";
import { CryptoTensorsError } from "../errors.js";
import type {
  AeadAlgorithm,
  Backend,
  BackendFile,
  DecryptRequest,
  PlanItem,
  SealJob,
  WholeSealer,
} from "./backend.js";
import { nodeWholeSealer, sealWithNodeCrypto } from "./node-seal.js";
import { labelled, packPlan } from "./plan-table.js";
import { checkDecryptRequest, checkReadRange, checkSealJob, checkWholeSeal } from "./validate.js";

/** Largest single read: fs reads are capped below 2 GiB. Also the decrypt slice. */
const READ_SLICE = 1 << 30;
const DECRYPT_SLICE = 4 << 20;

function ioError(what: string, error: unknown): CryptoTensorsError {
  const code = (error as { code?: unknown } | null)?.code;
  return new CryptoTensorsError(
    "ERR_IO",
    `${what} failed: ${typeof code === "string" ? code : String(error)}`,
    { cause: error },
  );
}

class FallbackBackendFile implements BackendFile {
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  async readInto(offset: number, length: number, dest: Uint8Array): Promise<void> {
    checkReadRange(this.size, offset, length, dest);
    await this.#track(() => this.#readExact(offset, length, dest));
  }

  async decryptInto(request: DecryptRequest, dest: Uint8Array): Promise<void> {
    const chunks = checkDecryptRequest(this.size, request, dest);
    await this.#track(async () => {
      try {
        for (let i = 0; i < chunks; i++) await this.#decryptChunk(request, i, dest);
      } catch (error) {
        // Never leave partial plaintext in the caller's buffer.
        dest.fill(0, 0, request.length);
        throw error;
      }
    });
  }

  async runPlan(items: readonly PlanItem[]): Promise<void> {
    packPlan(this.size, items).keys.fill(0); // the same validation as the native backend
    let current: PlanItem | undefined;
    try {
      for (const item of items) {
        current = item;
        if (item.kind === "read") await this.readInto(item.offset, item.length, item.dest);
        else await this.decryptInto(item.request, item.dest);
      }
    } catch (error) {
      for (const item of items)
        if (item.kind === "decrypt") item.dest.fill(0, 0, item.request.length);
      throw error instanceof CryptoTensorsError ? labelled(error, current?.label) : error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.handle.close();
    })();
    return this.#closing;
  }

  /** Runs `work` unless closing (checked after argument validation, as natively), and keeps it visible to close() until it settles. */
  #track(work: () => Promise<void>): Promise<void> {
    if (this.#closing) {
      throw new CryptoTensorsError(
        "ERR_CLOSED",
        `${this.path}: the file has been closed; open it again to read`,
      );
    }
    const running = work();
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  async #readExact(offset: number, length: number, dest: Uint8Array): Promise<void> {
    let done = 0;
    while (done < length) {
      const want = Math.min(length - done, READ_SLICE);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(dest, done, want, offset + done));
      } catch (error) {
        throw ioError(`reading ${this.path}`, error);
      }
      if (bytesRead === 0) {
        throw new CryptoTensorsError(
          "ERR_FILE_TRUNCATED",
          `reading ${this.path}: the file ended early (was it truncated while open?)`,
        );
      }
      done += bytesRead;
    }
  }

  async #decryptChunk(request: DecryptRequest, i: number, dest: Uint8Array): Promise<void> {
    const whole = request.chunkSize === 0;
    const start = whole ? 0 : i * request.chunkSize;
    const end = whole ? request.length : Math.min(request.length, start + request.chunkSize);
    const iv = whole ? request.baseIv : chunkIv(request.baseIv, request.firstChunk + i);
    // chacha20-poly1305 is typed as a GCM name only to share the DecipherGCM surface.
    const decipher: DecipherGCM = createDecipheriv(
      nodeCipherName(request.algorithm) as CipherGCMTypes,
      request.key,
      iv.subarray(0, IV_LENGTH),
      {
        authTagLength: TAG_LENGTH,
      },
    );
    decipher.setAuthTag(request.tags.subarray(i * TAG_LENGTH, (i + 1) * TAG_LENGTH));
    for (let pos = start; pos < end; pos += DECRYPT_SLICE) {
      const slice = dest.subarray(pos, Math.min(end, pos + DECRYPT_SLICE));
      await this.#readExact(request.fileOffset + pos, slice.byteLength, slice);
      slice.set(decipher.update(slice));
    }
    try {
      decipher.final();
    } catch {
      throw decryptionFailed();
    }
  }
}

/**
 * The pure TypeScript backend.
 *
 * @example
 * ```ts
 * const file = await new FallbackBackend().open("model.safetensors");
 * try { await file.readInto(0, 8, new Uint8Array(8)); } finally { await file.close(); }
 * ```
 */
export class FallbackBackend implements Backend {
  readonly name = "fallback" as const;

  async open(path: string): Promise<BackendFile> {
    if (typeof path !== "string") throw new TypeError("path must be a string");
    if (path.length === 0 || path.includes("\0")) {
      throw new TypeError("path must be a non-empty string without NUL characters");
    }
    let handle: fs.FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO must not hang; regular files are unaffected.
      handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (error) {
      throw ioError(`opening ${path}`, error);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile())
        throw new CryptoTensorsError("ERR_IO", `opening ${path}: not a regular file`);
      return new FallbackBackendFile(path, handle, stats.size);
    } catch (error) {
      await handle.close();
      throw error instanceof CryptoTensorsError ? error : ioError(`opening ${path}`, error);
    }
  }

  async seal(job: SealJob): Promise<void> {
    sealWithNodeCrypto(job, checkSealJob(job));
  }

  wholeSealer(algorithm: AeadAlgorithm, key: Uint8Array, iv: Uint8Array): WholeSealer {
    checkWholeSeal(algorithm, key, iv);
    return nodeWholeSealer(algorithm, key, iv);
  }
}
