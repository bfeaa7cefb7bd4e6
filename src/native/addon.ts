// The only importer of the compiled addon (.node). Loads it with node-gyp-build from the package
// root (build/Release in a development checkout, prebuilds/<platform>-<arch>/ when installed) and
// describes its raw surface with types. Everything above this file talks to the typed facade.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CryptoTensorsError } from "../errors.js";

/** Raw handle of an open file inside the addon; results are native status numbers (status.ts). */
export interface NativeFileHandle {
  readonly size: number;
  readonly inFlight: number;
  read(offset: number, length: number, dest: Uint8Array): Promise<number>;
  decrypt(
    algorithm: number,
    key: Uint8Array,
    fileOffset: number,
    length: number,
    chunkSize: number,
    firstChunk: number,
    baseIv: Uint8Array,
    tags: Uint8Array,
    dest: Uint8Array,
  ): Promise<number>;
  /**
   * Runs a plan (native/file-handle.cc Plan): `table` holds 9 numbers per entry (kind, algorithm,
   * fileOffset, length, chunkSize, firstChunk, keyOffset, ivOffset, tagOffset); `failed[0]`
   * receives the index of the entry that failed. Every destination must lie in memory from
   * {@link NativeBinding.allocateArena} (else a TypeError); `destPrivate`: they are fresh memory of
   * this load that nothing else observes before the promise settles (the workers fault them in
   * first, and may decrypt into them before a tag has verified).
   */
  plan(
    table: Float64Array,
    keys: Uint8Array,
    ivs: Uint8Array,
    tags: Uint8Array,
    dests: Uint8Array[],
    failed: Float64Array,
    destPrivate?: boolean,
  ): Promise<number>;
  /**
   * Reads and seals (native/file-handle.cc ReadSeal): seven arguments per part after the
   * algorithm and chunk size — fileOffset, length, firstChunk, key, baseIv, dest (an arena),
   * tags. Absent on an addon built before it.
   */
  readSeal?(
    algorithm: number,
    chunkSize: number,
    ...parts: Array<number | Uint8Array>
  ): Promise<number>;
  close(): Promise<void>;
}

/**
 * AES-GCM engines of the addon: Intel ipsec-mb (AVX-512/VAES), the addon's own VAES/AVX2 code
 * (CPUs with VAES but no AVX-512, e.g. AMD Zen 3), or OpenSSL's EVP.
 */
export type AesEngineName = "openssl" | "ipsec-mb" | "vaes-avx2";

/** Diagnostics of the loaded addon: the OpenSSL it really runs and the CPU features it sees. */
export interface NativeInfo {
  /** `OpenSSL_version(OPENSSL_VERSION)` of the linked library. */
  openssl: string;
  /** `OpenSSL_version(OPENSSL_DIR)`, e.g. `OPENSSLDIR: "/usr/lib/ssl"`; tells builds apart. */
  opensslDir: string;
  /** `OpenSSL_version(OPENSSL_PLATFORM)` of the linked library. */
  opensslPlatform: string;
  /** Version text of the headers the addon was compiled against. */
  opensslHeaders: string;
  /** Threads a large decrypt is spread over (the native pool's width: the machine's cores). */
  threads: number;
  /** The engine AES-GCM runs on now (ChaCha20-Poly1305 always runs on OpenSSL). */
  aesGcmEngine: AesEngineName;
  /** The addon was built with ipsec-mb (its library was found at build time, x86-64). */
  ipsecMbBuilt: boolean;
  /** ipsec-mb is built and this CPU has the AVX-512 + VAES + VPCLMULQDQ it needs to beat OpenSSL. */
  ipsecMbUsable: boolean;
  /** This CPU has the AVX2 + VAES + VPCLMULQDQ that the addon's own "vaes-avx2" engine needs. */
  vaesAvx2Usable: boolean;
  /** Every AES-GCM engine this CPU runs, fastest first: the first is the default. */
  aesGcmEngines: AesEngineName[];
  /**
   * AES-GCM ciphertext is decrypted straight out of a mapping of the file, in one pass: the active
   * engine reads each byte once (vaes-avx2). Other engines land the ciphertext first.
   */
  mappedDecrypt: boolean;
  cpu: { aesni: boolean; vaes: boolean; avx512: boolean; pclmul: boolean };
}

/** Process-wide counters of completed native operations. */
export interface NativeStats {
  opens: number;
  reads: number;
  decrypts: number;
  bytes: number;
  /** Range responses the native receiver took whole (native/http-receive.h), and their body bytes. */
  httpRanges: number;
  httpBytes: number;
  /** Chunks the native receiver decrypted in place on the thread that received them. */
  httpDecrypts: number;
  /** SIGBUS faults on a mapped file that shrank, turned into ERR_FILE_TRUNCATED. */
  truncationFaults: number;
  /** Arenas alive now (memory the addon owns: held by a JS buffer or by a plan in flight). */
  arenas: number;
  /** Bytes mapped by those arenas (to the 4 KiB page; 2 MiB aligned from 2 MiB on). */
  arenaBytes: number;
  /** Bytes of freed arenas kept for reuse now (setArenaReuse). */
  arenaIdleBytes: number;
  /** Arenas handed out again from kept memory so far. */
  arenaReuses: number;
  /**
   * Decryption units run without the thread's scratch buffer at the end of a load into fresh
   * memory (verified in the destination, then decrypted there; native/plan.cc) so far.
   */
  scratchlessTailUnits: number;
  /** Decryption units decrypted straight out of the file's mapping so far (nativeInfo().mappedDecrypt). */
  mappedDecryptUnits: number;
}

/** What a native range GET reported (native/http-receive.h, src/source/native-wire.ts). */
export interface NativeHttpResult {
  /**
   * ok, cancelled, head (refused: see `head`), head-too-large, overrun, timeout, network, short,
   * decrypt (a segment's plan failed; its destination is wiped); or "progress" (only `received`
   * and `decrypted` set) while the job runs, each time a piece is in.
   */
  outcome: string;
  /** The kept-alive connection for the next request, or -1 (closed). */
  fd: number;
  /** Body bytes in place, from the start of the range. */
  received: number;
  /** Segments whose plan ran, in order (progress results carry it too). */
  decrypted: number;
  /** Outcome "decrypt": the status (native/status.h) of the plan that failed (the next one). */
  status: number;
  /** Response bytes arrived. */
  anything: boolean;
  /** The request went over a kept-alive connection. */
  reused: boolean;
  error: number;
  /** e.g. "ECONNRESET"; empty when no system call failed. */
  errorName: string;
  /** The response head (latin1, with its blank line), empty when none arrived. */
  head: string;
}

/** One range GET for {@link NativeBinding.httpReceive}. */
export interface NativeHttpJob {
  /** A kept-alive connection a job returned, or -1 to connect. */
  fd: number;
  /** Numeric IPv4 or IPv6 addresses (JS resolved them), tried in order until one connects. */
  addresses: readonly string[];
  port: number;
  /** The whole request head, sent as is (never logged nor returned). */
  request: Uint8Array;
  start: number;
  end: number;
  /** The pinned size (Content-Range must name it). */
  total: number;
  etag?: string | undefined;
  lastModified?: string | undefined;
  timeoutMs: number;
  /**
   * Where the body goes, in order: library memory, or null (dropped); lengths sum to end - start.
   * `plan`: a packed plan (plan-table.ts) of in-place decryptions of bytes of this segment over
   * `handle` (an arena view), run by the receiving thread once the segment is in (destPrivate).
   */
  segments: readonly {
    dest: Uint8Array | null;
    length: number;
    plan?:
      | {
          handle: object;
          table: Float64Array;
          keys: Uint8Array;
          ivs: Uint8Array;
          tags: Uint8Array;
          dests: Uint8Array[];
          destPrivate: true;
        }
      | undefined;
  }[];
}

export interface NativeBinding {
  /**
   * Runs one range GET on a thread of its own (native/http-receive.h); `done` is called on the JS
   * thread once the thread is done with the job's memory (and before, with "progress" results,
   * as each segment with a destination completes). Returns the job's id (for httpCancel).
   * Absent from addons built before it.
   */
  httpReceive?(job: NativeHttpJob, done: (result: NativeHttpResult) => void): number;
  /** Stops a running job soon: it reports "cancelled". */
  httpCancel?(id: number): void;
  /** Closes an idle connection a job kept alive; false if `fd` is not one. */
  httpClose?(fd: number): boolean;
  /** Resolves with a handle, or with a status number when the open failed. */
  openFile(path: string): Promise<NativeFileHandle | number>;
  /**
   * A handle over `size` bytes of addon-owned zeroed memory and an ArrayBuffer of that memory
   * (native/memory-file.h): a remote source writes fetched ciphertext there and runs plans on
   * the handle as on a mapped file. Each range a plan reads is dropped from memory afterwards.
   * Returns a status number when the memory cannot be had.
   */
  openMemory(size: number): { handle: NativeFileHandle; memory: ArrayBuffer } | number;
  /**
   * A handle over the bytes of `view`, which must lie in one live arena (else TypeError), kept
   * mapped while the handle lives (native/memory-file.h): a remote source receives ciphertext
   * straight into a fresh destination and decrypts it there in place. A plan on it whose
   * destination is the range it reads copies nothing; no page is ever dropped. A status number
   * when the handle cannot be made.
   */
  openArenaView(view: Uint8Array): NativeFileHandle | number;
  /** Asks for transparent huge pages behind a large destination filled by many small plans (a hint). */
  adviseHugePages(view: ArrayBufferView): void;
  /**
   * Unwraps a batch of data keys under one master key, synchronously (native/data-keys.h): entry i
   * is `wrapped` bytes [i*k, (i+1)*k) (k = the algorithm's key length), IV `ivs` [i*12, ...),
   * tag `tags` [i*16, ...); its key lands in `out` [i*k, ...). Returns -1 when every tag
   * verifies, else the index of the first that does not (`out` is then wiped). Throws on
   * inconsistent lengths or a cipher failure. Optional: an addon built before it existed still
   * loads, and the open unwraps with node:crypto (src/keys/native-keys.ts).
   */
  unwrapKeys?(
    algorithm: number,
    masterKey: Uint8Array,
    wrapped: Uint8Array,
    ivs: Uint8Array,
    tags: Uint8Array,
    out: Uint8Array,
  ): number;
  /**
   * Wraps a batch of data keys under one master key, synchronously (native/data-keys.h), the
   * inverse of `unwrapKeys`: key i is `keys` bytes [i*k, (i+1)*k), sealed with IV `ivs` [i*12, ...)
   * into `wrapped` [i*k, ...) and tag `tags` [i*16, ...). Throws on inconsistent lengths or a
   * cipher failure. Optional, as `unwrapKeys`.
   */
  wrapKeys?(
    algorithm: number,
    masterKey: Uint8Array,
    keys: Uint8Array,
    ivs: Uint8Array,
    wrapped: Uint8Array,
    tags: Uint8Array,
  ): void;
  /** Writes the 32-byte Ed25519 public key of a 32-byte `seed` into `out` (native/ed25519.h). */
  ed25519PublicKey?(seed: Uint8Array, out: Uint8Array): void;
  /** Writes the 64-byte Ed25519 signature of `message` under a 32-byte `seed` into `out`. Optional. */
  ed25519Sign?(seed: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  /**
   * A fresh ArrayBuffer over memory the addon owns (native/arena.h): zero-filled, 2 MiB aligned,
   * advised for huge pages, unmapped (or kept for reuse, see setArenaReuse) once neither the
   * buffer nor any plan in flight holds it. `overwritten`: the caller writes or wipes every byte
   * before anyone reads them, so a recycled arena is not zeroed first. Throws RangeError when
   * `bytes` is not positive or cannot be mapped.
   */
  allocateArena(bytes: number, overwritten?: boolean): ArrayBuffer;
  /** How many bytes of freed arenas to keep for reuse (process-wide; 0: none, unmap those kept). */
  setArenaReuse(bytes: number): void;
  /** True when every byte of `view` lies in a live arena (plans may write there directly). */
  isArenaMemory(view: Uint8Array): boolean;
  nativeInfo(): NativeInfo;
  stats(): NativeStats;
  /** Forces the AES-GCM engine for the process; false when that engine is not usable here. */
  setAesEngine(engine: AesEngineName): boolean;
  /**
   * Turns decryption straight out of the file's mapping on (the default) or off, process-wide;
   * returns the previous setting. For benchmarks and tests that compare it with landing first.
   */
  setMappedDecrypt(on: boolean): boolean;
  /** Encrypts `src` into `dst` as v2 chunks (tags: 16 bytes per chunk); resolves with a status. */
  seal(
    algorithm: number,
    key: Uint8Array,
    baseIv: Uint8Array,
    firstChunk: number,
    chunkSize: number,
    src: Uint8Array,
    dst: Uint8Array,
    tags: Uint8Array,
  ): Promise<number>;
  /**
   * Seals parts of six arguments (key, baseIv, firstChunk, src, dst, tags), each as `seal` would,
   * as one pool job; resolves with a status. Optional: an addon built before it existed still
   * loads, and the writer seals one job per piece.
   */
  sealBatch?(
    algorithm: number,
    chunkSize: number,
    ...parts: Array<Uint8Array | number>
  ): Promise<number>;
  /** memcpy over `threads` pool threads (the benchmarks' bandwidth baseline); resolves with a status. */
  copy(src: Uint8Array, dst: Uint8Array, threads: number): Promise<number>;
  /**
   * The benchmarks' AEAD compute floor: decrypts `totalBytes` (rounded up to whole messages of
   * `messageBytes`, a multiple of 64 up to 16 MiB) with the active engine on `threads` pool
   * threads, each thread again and again over one message that stays in its L2 cache (no memory
   * traffic); resolves with a status (0, or 1 when a tag failed: an engine bug).
   */
  aeadInCache(
    algorithm: number,
    key: Uint8Array,
    totalBytes: number,
    messageBytes: number,
    threads: number,
  ): Promise<number>;
  /**
   * The benchmarks' fresh-memory floor: faults in every page of `view` (fresh memory from
   * {@link NativeBinding.allocateArena}, else a TypeError; its content may be zeroed) over the
   * pool, as a fresh load does before it decrypts; resolves with a status.
   */
  populate(view: Uint8Array): Promise<number>;
}

/**
 * Where package.json lives: the nearest directory above this module that has one. The module is
 * src/native/addon.ts in a checkout, but in the built package its code sits in whichever file the
 * bundler put it (dist/native/addon.js, dist/chunks/*.js: scripts/bundle-dist.mjs), so the
 * root is found, not assumed at a fixed depth.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; ) {
    if (existsSync(join(dir, "package.json"))) return `${dir}/`;
    const parent = dirname(dir);
    if (parent === dir) return `${dirname(dirname(start))}/`;
    dir = parent;
  }
}

let loaded: { binding: NativeBinding } | { error: unknown } | undefined;

function isBinding(value: unknown): value is NativeBinding {
  const candidate = value as Partial<Record<keyof NativeBinding, unknown>> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.openFile === "function" &&
    typeof candidate.openMemory === "function" &&
    typeof candidate.openArenaView === "function" &&
    typeof candidate.adviseHugePages === "function" &&
    typeof candidate.nativeInfo === "function" &&
    typeof candidate.stats === "function" &&
    typeof candidate.setAesEngine === "function" &&
    typeof candidate.setMappedDecrypt === "function" &&
    typeof candidate.seal === "function" &&
    typeof candidate.allocateArena === "function" &&
    typeof candidate.setArenaReuse === "function" &&
    typeof candidate.isArenaMemory === "function"
  );
}

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require("node-gyp-build") as (root: string) => unknown;
  const binding = nodeGypBuild(PACKAGE_ROOT);
  if (!isBinding(binding)) {
    throw new Error(
      "the loaded cryptotensors.node does not have the expected exports (stale build?)",
    );
  }
  return binding;
}

/**
 * The addon, loaded once per process (per worker thread). Throws ERR_NATIVE_UNAVAILABLE, with
 * the loader's error as `cause`, when it cannot be loaded.
 *
 * @example
 * ```ts
 * const handle = await loadNativeBinding().openFile("model.safetensors");
 * ```
 */
export function loadNativeBinding(): NativeBinding {
  if (loaded === undefined) {
    try {
      loaded = { binding: load() };
    } catch (error) {
      loaded = { error };
    }
  }
  if ("binding" in loaded) return loaded.binding;
  // node-gyp-build's message spans lines (the lookup path follows); its first line says what failed.
  const reason = (
    loaded.error instanceof Error ? loaded.error.message : String(loaded.error)
  ).split("\n")[0];
  throw new CryptoTensorsError(
    "ERR_NATIVE_UNAVAILABLE",
    `the cryptotensors native addon could not be loaded (${reason}); for the native path install g++, make, python3 and libssl-dev, then run "npm rebuild cryptotensors"`,
    { cause: loaded.error },
  );
}
