// The addon's key helpers for the open path (native/unwrap.h, native/ed25519.h), or null where
// the addon cannot be loaded or CRYPTOTENSORS_BACKEND asks for the fallback: callers then use
// node:crypto, which gives the same results (test/native/unwrap-batch.test.ts).
import { ed25519PublicKey } from "../crypto/signature.js";
import { loadNativeBinding, type NativeBinding } from "../native/addon.js";

/** The key helpers of the addon; an addon built before them (a stale build) has neither. */
type KeyBinding = NativeBinding & Required<Pick<NativeBinding, "unwrapKeys" | "ed25519PublicKey">>;

let binding: KeyBinding | null | undefined;

/**
 * @internal The addon, or null (not loadable, or `CRYPTOTENSORS_BACKEND=fallback`).
 *
 * @example
 * ```ts
 * const native = nativeKeyBinding();
 * if (native !== null) native.unwrapKeys(…);
 * ```
 */
export function nativeKeyBinding(): KeyBinding | null {
  if (process.env.CRYPTOTENSORS_BACKEND === "fallback") return null;
  if (binding === undefined) {
    try {
      const loaded = loadNativeBinding();
      binding =
        typeof loaded.unwrapKeys === "function" && typeof loaded.ed25519PublicKey === "function"
          ? (loaded as KeyBinding)
          : null;
    } catch {
      binding = null;
    }
  }
  return binding;
}

/**
 * The Ed25519 public key of a 32-byte seed: one OpenSSL call in the addon (~40 µs) where it is
 * loaded, else node:crypto's three key objects (~0.5 ms, paid on every open that is handed a
 * private signing key, issue 13).
 *
 * @example
 * ```ts
 * if (!derivePublicKey(seed).equals(x)) throw new Error('"x" is not the public key of "d"');
 * ```
 */
export function derivePublicKey(seed: Uint8Array): Buffer {
  const native = nativeKeyBinding();
  if (native === null) return ed25519PublicKey(seed);
  const out = Buffer.alloc(32);
  native.ed25519PublicKey(seed, out);
  return out;
}
