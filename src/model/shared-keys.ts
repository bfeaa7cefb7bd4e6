// The keys of a model parsed once for all of its shards. Every shard is opened (or verified) with
// the same options; parsing the JWK set per shard re-derived the same key objects each time
// (~1.5 ms a shard). The parsed ring lives as long as the model (a lazily opened shard still needs
// it) and is wiped when the model closes.
import { parseKeysOnce, type KeyTrustOptions } from "../reader/key-lookup.js";

/**
 * `options` with `keys` and `verifyKeys` replaced by rings parsed once, and `wipe()` for what was
 * parsed here. Keys that do not parse are left as given, so each shard fails with the same error
 * as a single file would.
 *
 * @example
 * ```ts
 * const shared = sharedKeyOptions(options);
 * try { await Promise.all(shards.map((s) => openShard(s, shared.options))); } finally { shared.wipe(); }
 * ```
 */
export function sharedKeyOptions<T extends KeyTrustOptions>(
  options: T,
): { options: T; wipe(): void } {
  const wipes: Array<() => void> = [];
  const result: T = { ...options };
  try {
    for (const field of ["keys", "verifyKeys"] as const) {
      const value = options[field];
      if (value === undefined) continue;
      const parsed = parseKeysOnce(value);
      wipes.push(parsed.wipe);
      result[field] = parsed.ring;
    }
  } catch {
    // Invalid keys: leave them to each shard's own check (same error as openFile gives).
    for (const wipe of wipes) wipe();
    return { options, wipe: () => undefined };
  }
  return {
    options: result,
    wipe: () => {
      for (const wipe of wipes.splice(0)) wipe();
    },
  };
}
