// The one door to a model's shards: every shard is opened (or verified) through these functions,
// given its location, so a later remote source only has to change what a location is.
import { CryptoTensorsError } from "../errors.js";
import type { ParsedHeader } from "../format/types.js";
import { getBackend } from "../native/index.js";
import { openFile, readHeaderRegion, type OpenOptions } from "../reader/open-file.js";
import type { TensorFile } from "../reader/tensor-file.js";
import { isEncrypted, unlock, type Unlocked } from "../reader/unlock.js";
import { resolveTarget } from "../source/resolve-target.js";

/**
 * Opens one shard like {@link openFile}: verified, policy checked, data keys unwrapped.
 *
 * @example
 * ```ts
 * const file = await openShard(shardLocation(layout, name), { keys });
 * ```
 */
export function openShard(location: string, options: OpenOptions): Promise<TensorFile> {
  return openFile(location, options);
}

/**
 * Reads one shard's header and, when the shard is encrypted, checks its signature and policy
 * without any master key (as verifyFile does); returns the header that was checked and the
 * envelope read from it (no data key in it).
 *
 * @example
 * ```ts
 * const { header } = await verifyShard(shardLocation(layout, name), { verifyKeys });
 * ```
 */
export async function verifyShard(
  location: string,
  options: OpenOptions,
): Promise<{ header: ParsedHeader; encrypted: boolean; envelope: Unlocked | null }> {
  const file = await getBackend(options.backend).open(
    await resolveTarget(location, options.remote),
  );
  try {
    const { header, region } = await readHeaderRegion(file);
    if (!isEncrypted(header)) return { header, encrypted: false, envelope: null };
    // The header bytes are the model's digest for a licence's audience, as in openFile.
    const envelope = await unlock(header, location, {
      ...options,
      verifyOnly: true,
      headerRegion: region,
    });
    return { header, encrypted: true, envelope };
  } finally {
    await file.close();
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight; on the first failure waits for the
 * rest to settle, then rethrows it (so the caller can release everything that did open).
 */
export async function eachLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<{ results: Array<R | undefined>; failed: boolean; error: unknown }> {
  const results: Array<R | undefined> = new Array(items.length);
  let next = 0;
  let error: unknown;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return { results, failed, error };
}

/** Rethrows the error of {@link eachLimited}, wrapping non-library errors. */
export function rethrow(error: unknown, what: string): never {
  if (
    error instanceof CryptoTensorsError ||
    error instanceof TypeError ||
    error instanceof RangeError
  )
    throw error;
  throw new CryptoTensorsError("ERR_IO", `${what}: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
  });
}
