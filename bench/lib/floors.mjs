// Same-run floors of a load of `bytes` bytes, as interleaved variants (bench/lib/interleave.mjs)
// for the load scenarios, each run with the best method the addon has on its own pool threads:
//   landing: memcpy from a warm 64 MiB window into fresh arena memory (what any load of the bytes
//     into fresh memory costs), and into a warm arena;
//   the AEAD alone: the fast engine decrypting cache-resident messages until `bytes` are done
//     (binding aeadInCache: no memory traffic, tags checked);
//   the kernel's part: faulting in (zeroing) fresh arena memory of `bytes` (binding populate);
//   reachable: the engine sealing the warm window into fresh (resp. warm) arena memory, the AEAD
//     fused into a landing pass, which shows what the hardware does with both at once.
// bench/lib/bounds.mjs turns their best wall and CPU times into lower bounds of the loads.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { availableParallelism } from "node:os";
import { rewarmPageCache } from "./page-cache.mjs";

const WINDOW = 64 << 20;
const MESSAGE = 256 << 10; // two of them (ciphertext and plaintext) per thread fit its L2 cache
const CHUNK = 2 << 20; // the chunk size of the benchmark's files

/**
 * The AEAD alone over `bytes`: the fast engine on the addon's threads decrypting cache-resident
 * messages, tags checked (binding aeadInCache), and its row name. A key of its own.
 * @param {any} api the package (bench/lib/common.mjs loadPackage)
 * @param {number} bytes
 */
export function aeadAlone(api, bytes) {
  const { threads, aesGcmEngine } = api.nativeInfo();
  const key = randomBytes(32);
  return {
    name: `floor: AEAD alone (${aesGcmEngine}, in L2 cache), ${threads} addon threads`,
    run: async () => {
      const status = await api.binding.aeadInCache(1, key, bytes, MESSAGE, threads);
      if (status !== 0) throw new Error(`aeadInCache failed with status ${status}`);
    },
  };
}

/**
 * @param {any} api the package (bench/lib/common.mjs loadPackage)
 * @param {number} bytes the load's byte count
 * @param {{ warmArena?: Uint8Array, retain: (value: unknown) => void }} options `warmArena`: also
 *   the warm variants (into its first `bytes`); `retain`: keeps a fresh result alive until the
 *   next sample, as the retained loads do
 */
export function floorVariants(api, bytes, { warmArena, retain }) {
  const binding = api.binding;
  const threads = api.nativeInfo().threads;
  const engine = api.nativeInfo().aesGcmEngine;
  const window = new Uint8Array(Math.min(WINDOW, bytes)).fill(3);
  const key = randomBytes(32);
  const iv = randomBytes(12);
  iv.writeUInt32BE(0, 8);
  const tags = new Uint8Array((Math.ceil(window.length / CHUNK) + 1) * 16);
  const check = (/** @type {number} */ status, /** @type {string} */ what) => {
    if (status !== 0) throw new Error(`${what} failed with status ${status}`);
  };
  /** Runs `step(dst, src)` over `dest` in window-sized steps from the warm window. */
  const stream = async (/** @type {Uint8Array} */ dest, /** @type {string} */ what, step) => {
    for (let at = 0; at < dest.length; at += window.length) {
      const dst = dest.subarray(at, Math.min(dest.length, at + window.length));
      check(await step(dst, window.subarray(0, dst.length)), what);
    }
  };
  const copy = (dst, src) => binding.copy(src, dst, threads);
  // Chunk numbers restart each step: the floor measures the work, the ciphertext is thrown away.
  const seal = (dst, src) => binding.seal(1, key, iv, 0, CHUNK, src, dst, tags);
  const fresh = () => new Uint8Array(binding.allocateArena(bytes));
  const aead = aeadAlone(api, bytes);
  const names = {
    memcpyFresh: `floor: memcpy into fresh arena, ${threads} addon threads`,
    aead: aead.name,
    populate: `floor: fault in fresh arena (populate), ${threads} addon threads`,
    sealFresh: `reachable: AES-GCM seal streaming into fresh arena, ${threads} addon threads`,
    memcpyWarm: `floor: memcpy into warm arena, ${threads} addon threads`,
    sealWarm: `reachable: AES-GCM seal streaming into warm arena, ${threads} addon threads`,
  };
  /** @type {Record<string, () => Promise<unknown>>} */
  const variants = {
    [names.memcpyFresh]: async () => {
      const dest = fresh();
      await stream(dest, "copy", copy);
      retain(dest);
    },
    [names.aead]: aead.run,
    [names.populate]: async () => {
      const dest = fresh();
      check(await binding.populate(dest), "populate");
      retain(dest);
    },
    [names.sealFresh]: async () => {
      const dest = fresh();
      await stream(dest, "seal", seal);
      retain(dest);
    },
  };
  if (warmArena) {
    const warm = warmArena.subarray(0, bytes);
    variants[names.memcpyWarm] = () => stream(warm, "copy", copy);
    variants[names.sealWarm] = () => stream(warm, "seal", seal);
  }
  return { variants, names, cores: availableParallelism(), threads, engine };
}

/**
 * Same-run floors of landing a file's bytes in memory, on the addon's pool threads, with nothing
 * else: no header, no plan of tensors, no AEAD. `path`'s data section (the plaintext file: its
 * bytes are the model's) lands in fresh arena memory (faulted in unit by unit, as loads do) and
 * in a warm arena, once with pread (what loads do) and once through a mapping of the file
 * (CRYPTOTENSORS_MMAP=1: each 2 MiB slice's page-table entries populated, copied, released, so
 * the resident set stays bounded). A decryption that keeps the single fetch either lands the
 * ciphertext first (pread floor + the AEAD) or streams it out of the mapping with the AEAD
 * hidden under the copy (at best the mapped floor): bench/lib/bounds.mjs designBounds.
 *
 * With `sealed`, also the two designs as the addon realizes them, with nothing else: the same
 * bytes sealed once (AES-256-GCM, one key, 2 MiB chunks, as the benchmark's files) into a file of
 * their own, decrypted by one plan entry with the active engine — landed with pread, then the AEAD
 * in place (what loads do with an engine that may read a byte twice: binding.setMappedDecrypt
 * (false)), and, where the engine reads each byte once (nativeInfo().mappedDecrypt), the AEAD
 * straight out of the file's mapping (what loads do then). Not lower bounds (another realization
 * may do better) but what the loader's own engine costs without a header, per-tensor work or the GC:
 * the rest of a load's time is above the engine.
 * @param {any} api the package (bench/lib/common.mjs loadPackage)
 * @param {{ path: string, bytes: number, warmArena?: Uint8Array, retain: (value: unknown) => void, sealed?: boolean }} options
 */
export async function fileFloorVariants(api, { path, bytes, warmArena, retain, sealed = false }) {
  const binding = api.binding;
  const threads = api.nativeInfo().threads;
  const offset = dataSectionOffset(path);
  const handles = await openBothWays(binding, path);
  const empty = new Uint8Array(0);
  const table = new Float64Array([0, 0, offset, bytes, 0, 0, 0, 0, 0]);
  const check = (/** @type {number} */ status, /** @type {string} */ what) => {
    if (status !== 0) throw new Error(`${what} failed with status ${status}`);
  };
  // A fresh destination as loadFile gets it: a private plan entry, faulted in unit by unit.
  const fresh = async (/** @type {any} */ handle, /** @type {string} */ what) => {
    const dest = new Uint8Array(binding.allocateArena(bytes, true));
    check(await handle.plan(table, empty, empty, empty, [dest], new Float64Array(1), true), what);
    retain(dest);
  };
  const names = {
    preadFresh: `floor: pread the file into fresh arena, ${threads} addon threads`,
    mappedFresh: `floor: copy through the file's mapping into fresh arena, ${threads} addon threads`,
    preadWarm: `floor: pread the file into warm arena, ${threads} addon threads`,
    mappedWarm: `floor: copy through the file's mapping into warm arena, ${threads} addon threads`,
  };
  /** @type {Record<string, () => Promise<unknown>>} */
  const variants = {
    [names.preadFresh]: () => fresh(handles.pread, "pread landing"),
    [names.mappedFresh]: () => fresh(handles.mapped, "mapped landing"),
  };
  if (warmArena) {
    const warm = warmArena.subarray(0, bytes);
    variants[names.preadWarm] = async () =>
      check(await handles.pread.read(offset, bytes, warm), "pread");
    variants[names.mappedWarm] = async () =>
      check(await handles.mapped.read(offset, bytes, warm), "mapped read");
  }
  const closers = [() => handles.pread.close(), () => handles.mapped.close()];
  if (sealed) {
    const engine = await sealedVariants(api, {
      offset,
      bytes,
      warmArena,
      retain,
      source: handles.pread,
      path,
    });
    Object.assign(variants, engine.variants);
    Object.assign(names, engine.names);
    closers.push(engine.close);
  }
  const close = async () => {
    for (const closeOne of closers) await closeOne();
  };
  return { variants, names, close };
}

/**
 * The engine variants of fileFloorVariants (`sealed`): seals the data section at `offset` of
 * `path` into `path`.sealed-floor, one chunked AES-256-GCM message stream, and decrypts it whole
 * by one plan entry, through pread and through the mapping.
 */
async function sealedVariants(api, { path, offset, bytes, warmArena, retain, source }) {
  const binding = api.binding;
  const threads = api.nativeInfo().threads;
  const { writeSync, rmSync } = await import("node:fs");
  const sealedPath = `${path}.sealed-floor`;
  const key = randomBytes(32);
  const iv = randomBytes(12);
  iv.writeUInt32BE(0, 8);
  const chunks = Math.ceil(bytes / CHUNK);
  const tags = new Uint8Array(chunks * 16);
  const check = (/** @type {number} */ status, /** @type {string} */ what) => {
    if (status !== 0) throw new Error(`${what} failed with status ${status}`);
  };
  const plain = new Uint8Array(binding.allocateArena(WINDOW));
  const sealedWindow = new Uint8Array(binding.allocateArena(WINDOW));
  const fd = openSync(sealedPath, "w");
  try {
    for (let at = 0; at < bytes; at += WINDOW) {
      const n = Math.min(WINDOW, bytes - at);
      check(await source.read(offset + at, n, plain.subarray(0, n)), "read for sealing");
      const first = at / CHUNK; // WINDOW is a whole number of chunks
      const windowTags = tags.subarray(first * 16, (first + Math.ceil(n / CHUNK)) * 16);
      const sealing = binding.seal(
        1,
        key,
        iv,
        first,
        CHUNK,
        plain.subarray(0, n),
        sealedWindow.subarray(0, n),
        windowTags,
      );
      check(await sealing, "seal");
      writeSync(fd, sealedWindow, 0, n);
    }
  } finally {
    closeSync(fd);
  }
  // cached as the benchmark's model files are (fixtures.mjs)
  rewarmPageCache([sealedPath], { hugeFolios: true });
  const table = new Float64Array([1, 1, 0, bytes, CHUNK, 0, 0, 0, 0]);
  const handle = await binding.openFile(sealedPath);
  // `mapped`: the AEAD out of the mapping (the default where the engine allows it), else landing first.
  const run = async (
    /** @type {Uint8Array} */ dest,
    /** @type {boolean} */ destPrivate,
    /** @type {boolean} */ mapped,
  ) => {
    const previous = binding.setMappedDecrypt(mapped);
    try {
      check(
        await handle.plan(table, key, iv, tags, [dest], new Float64Array(1), destPrivate),
        "sealed plan",
      );
    } finally {
      binding.setMappedDecrypt(previous);
    }
  };
  const fresh = async (/** @type {boolean} */ mapped) => {
    const dest = new Uint8Array(binding.allocateArena(bytes, true));
    await run(dest, true, mapped);
    retain(dest);
  };
  const names = {
    enginePreadFresh: `engine: pread then AEAD in place into fresh arena, ${threads} addon threads`,
    enginePreadWarm: `engine: pread then AEAD into warm arena, ${threads} addon threads`,
    ...(api.nativeInfo().mappedDecrypt
      ? {
          engineMappedFresh: `engine: AEAD straight out of the file's mapping into fresh arena, ${threads} addon threads`,
          engineMappedWarm: `engine: AEAD straight out of the file's mapping into warm arena, ${threads} addon threads`,
        }
      : {}),
  };
  /** @type {Record<string, () => Promise<unknown>>} */
  const variants = { [names.enginePreadFresh]: () => fresh(false) };
  if (names.engineMappedFresh) variants[names.engineMappedFresh] = () => fresh(true);
  if (warmArena) {
    const warm = warmArena.subarray(0, bytes);
    variants[names.enginePreadWarm] = () => run(warm, false, false);
    if (names.engineMappedWarm) variants[names.engineMappedWarm] = () => run(warm, false, true);
  }
  const close = async () => {
    await handle.close();
    rmSync(sealedPath, { force: true });
  };
  return { variants, names, close };
}

/**
 * The addon's handles of `path`, one reading with pread and one through a mapping of the file
 * (CRYPTOTENSORS_MMAP=1, read by the addon at open).
 */
async function openBothWays(/** @type {any} */ binding, /** @type {string} */ path) {
  const pread = await binding.openFile(path);
  process.env.CRYPTOTENSORS_MMAP = "1";
  try {
    return { pread, mapped: await binding.openFile(path) };
  } catch (error) {
    await pread.close();
    throw error;
  } finally {
    delete process.env.CRYPTOTENSORS_MMAP;
  }
}

/**
 * Where the data section of the safetensors file at `path` starts (after the 8-byte length and
 * the header).
 * @example dataSectionOffset("model.safetensors") // 8 + header length
 * @param {string} path
 */
export function dataSectionOffset(path) {
  const head = Buffer.alloc(8);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  return 8 + Number(head.readBigUInt64LE(0));
}
