// The addon's key helpers for the open and save paths (native/data-keys.h, native/ed25519.h), or
// null where the addon cannot be loaded or CRYPTOTENSORS_BACKEND asks for the fallback: callers
// then use node:crypto, which gives the same results (test/native/unwrap-batch.test.ts,
// wrap-batch.test.ts, native-keys.test.ts).
import { encodeBase64 } from "../crypto/base64.js";
import { ed25519PublicKey, signPayload } from "../crypto/signature.js";
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

/**
 * The standard base64 Ed25519 signature of `payload` under a 32-byte seed (a header's
 * `__signature__`): one OpenSSL call in the addon (~0.1 ms) where it has one, else node:crypto,
 * whose key object built from the seed cost ~1.3 ms of every encrypted save, on the JS thread
 * while the last batches were being written.
 *
 * @example
 * ```ts
 * const signature = signWithSeed(signaturePayload(metadata, tensors), signingKey.privateKey);
 * ```
 */
export function signWithSeed(payload: Uint8Array, seed: Uint8Array): string {
  const sign = nativeKeyBinding()?.ed25519Sign;
  // A seed of another length gets signPayload's typed error.
  if (sign === undefined || seed.length !== 32) return signPayload(payload, seed);
  const signature = Buffer.alloc(64);
  sign(seed, payload, signature);
  return encodeBase64(signature);
}
