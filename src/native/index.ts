// The native layer's public surface: backend selection and addon diagnostics.
import { NotSupportedError } from "../errors.js";
import type { Backend } from "./backend.js";
import {
  loadNativeBinding,
  type AesEngineName,
  type NativeInfo,
  type NativeStats,
} from "./addon.js";
import { FallbackBackend } from "./fallback-backend.js";
import { NativeBackend } from "./native-backend.js";
import { selectBackend, type BackendChoice } from "./select.js";

export type {
  AeadAlgorithm,
  Backend,
  BackendFile,
  DecryptRequest,
  PlanItem,
  SealJob,
  WholeSealer,
} from "./backend.js";
export type { AesEngineName, NativeInfo, NativeStats } from "./addon.js";
export type { BackendChoice } from "./select.js";

let nativeBackend: NativeBackend | undefined;
let fallbackBackend: FallbackBackend | undefined;
let warned = false;

const sources = {
  native: () => (nativeBackend ??= new NativeBackend(loadNativeBinding())),
  fallback: () => (fallbackBackend ??= new FallbackBackend()),
  warnFallback: (error: unknown) => {
    if (warned) return;
    warned = true;
    // The message already carries the loader's reason; its full text stays in `cause`.
    const reason = error instanceof Error ? error.message : String(error);
    process.emitWarning(
      `cryptotensors: using the pure TypeScript backend (node:crypto) because ${reason}.`,
      { code: "CRYPTOTENSORS_FALLBACK", type: "CryptoTensorsWarning" },
    );
  },
};

/**
 * The backend that reads and decrypts file bytes. `prefer` wins over the `CRYPTOTENSORS_BACKEND`
 * environment variable ("native" | "fallback"); without either, the native addon is used and, if
 * it cannot load, the TypeScript fallback with one process warning. Asking explicitly for
 * "native" when the addon is unavailable throws ERR_NATIVE_UNAVAILABLE.
 *
 * @example
 * ```ts
 * const file = await getBackend().open("model.safetensors");
 * const header = new Uint8Array(8);
 * await file.readInto(0, 8, header);
 * await file.close();
 * ```
 */
export function getBackend(prefer?: BackendChoice): Backend {
  return selectBackend(prefer, process.env["CRYPTOTENSORS_BACKEND"], sources);
}

/**
 * Memory for `readAll({ into })` / `getTensor({ into })` that the native addon owns: its worker
 * threads decrypt straight into it (the fastest destination), and it stays mapped while any read
 * into it is in flight, whatever happens to the buffer meanwhile. Any other `into` is filled
 * through two 16 MiB staging windows and copied on the JS thread. Zero-filled; large arenas are
 * 2 MiB aligned and backed by transparent huge pages; the memory is freed once the buffer (and
 * every view of it) is garbage collected. Node copies such a buffer instead of transferring it
 * through `structuredClone`/`postMessage`. With the fallback backend it is a plain ArrayBuffer.
 *
 * @example
 * ```ts
 * const arena = allocateArena(file.readAllByteLength()); // keep it across reloads
 * const tensors = await file.readAll({ into: arena });
 * ```
 */
export function allocateArena(byteLength: number): ArrayBuffer {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0)
    throw new RangeError("byteLength must be a non-negative safe integer");
  if (byteLength === 0 || getBackend().name !== "native") return new ArrayBuffer(byteLength);
  return loadNativeBinding().allocateArena(byteLength);
}

/**
 * Keeps up to `maxBytes` of freed arena memory (loaded models, `allocateArena` buffers the
 * garbage collector has freed) for the next loads to reuse, instead of returning it to the
 * kernel. A fresh load must have every page of its destination zeroed by the kernel first, which
 * on a virtual machine costs more than decrypting; a server that reloads models of a similar size
 * skips that cost. Process-wide; 0 (the default) turns reuse off and frees what is kept now.
 * The kept memory stays in the process's RSS, with the bytes of what was freed (plaintext
 * included) until it is reused — set 0 to give it back. Reused memory handed to a caller is
 * zeroed (`allocateArena`) or entirely overwritten (loads). Throws ERR_NATIVE_UNAVAILABLE
 * without the addon.
 *
 * @example
 * ```ts
 * setArenaReuse(4 * 2 ** 30); // a server that swaps in new versions of a ~2 GB model
 * let model = await loadFile("model.safetensors", { keys });
 * // later: load the new version, then drop the old one; its memory serves the next reload
 * model = await loadFile("model-v2.safetensors", { keys });
 * ```
 */
export function setArenaReuse(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError("maxBytes must be a non-negative safe integer");
  loadNativeBinding().setArenaReuse(maxBytes);
}

/**
 * Name of the backend `getBackend()` returns by default.
 *
 * @example
 * ```ts
 * console.log(backendName()); // "native"
 * ```
 */
export function backendName(): BackendChoice {
  return getBackend().name;
}

/**
 * Diagnostics of the native addon: the OpenSSL library it really runs (linked statically, not
 * Node's), the threads used for large decrypts, and the CPU's AES features. Throws
 * ERR_NATIVE_UNAVAILABLE when the addon is not loaded.
 *
 * @example
 * ```ts
 * const { openssl, opensslDir, cpu } = nativeInfo();
 * ```
 */
export function nativeInfo(): NativeInfo {
  const info = loadNativeBinding().nativeInfo();
  return { ...info, cpu: { ...info.cpu } };
}

/**
 * Counters of native operations completed in this process (opens, reads, decrypts, bytes).
 *
 * @example
 * ```ts
 * const before = nativeStats().reads;
 * ```
 */
export function nativeStats(): NativeStats {
  return loadNativeBinding().stats();
}

/**
 * Forces the engine AES-GCM runs on in this process (all threads, from the next request on):
 * "ipsec-mb" (Intel's AVX-512/VAES kernels, the default where the CPU has them), "vaes-avx2"
 * (the addon's own VAES/AVX2 code, the default on CPUs with VAES but no AVX-512) or "openssl".
 * The environment variable CRYPTOTENSORS_AES_ENGINE=openssl|ipsec-mb|vaes-avx2 sets the initial
 * choice. Throws ERR_NATIVE_UNAVAILABLE without the addon, and NotSupportedError when an engine
 * is asked for that was not built or cannot run on this CPU.
 *
 * @example
 * ```ts
 * setAesEngine("openssl");
 * console.log(nativeInfo().aesGcmEngine); // "openssl"
 * ```
 */
export function setAesEngine(engine: AesEngineName): void {
  if (engine !== "openssl" && engine !== "ipsec-mb" && engine !== "vaes-avx2")
    throw new TypeError('engine must be "openssl", "ipsec-mb" or "vaes-avx2"');
  if (!loadNativeBinding().setAesEngine(engine)) {
    const needs = engine === "ipsec-mb" ? "AVX-512 + VAES" : "AVX2 + VAES + VPCLMULQDQ";
    throw new NotSupportedError(
      `the ${engine} AES-GCM engine is not available (not built, or this CPU lacks ${needs})`,
    );
  }
}
