// Finds the master and verification keys for an encrypted file through the key provider
// registry, in the reference's priority order (FORMAT.md §5.2–§5.3): keys passed in options
// (priority 100), registered providers, `file://` jku inside the allowed roots (10), then
// CRYPTOTENSOR_KEYS (0). Pinned verification keys replace the lookup of the verification key
// altogether, so a header cannot choose the key it is checked with (§8.2).
import { CryptoTensorsError } from "../errors.js";
import type { KeyDescriptor } from "../crypto/reserved.js";
import { verifyPayload } from "../crypto/signature.js";
import { quoteShort } from "../crypto/quote.js";
import { FileKeyProvider } from "../keys/file-provider.js";
import type { MasterKey, SigningKey } from "../keys/jwk.js";
import { parseKeySet, type KeyRing } from "../keys/keyring.js";
import { DirectKeyProvider, isKeyRing, type KeyProvider } from "../keys/provider.js";
import { defaultKeyRegistry, type KeyProviderRegistry, type ResolvedKey } from "../keys/registry.js";

/** What callers may pass as `keys`: a JWK set `{ keys: [...] }`, an array of JWKs, one JWK, or a parsed KeyRing. */
export type KeysOption = KeyRing | { keys: readonly unknown[] } | readonly unknown[] | Record<string, unknown>;

/** The key and trust settings shared by openFile, verifyFile and rewrapFile. */
export interface KeyTrustOptions {
  /** Keys tried first (priority 100): a JWK set, an array of JWKs, one JWK (either JWK form) or a KeyRing. */
  keys?: KeysOption;
  /**
   * Pinned verification keys: the header signature must verify under one of these (the one
   * whose kid the header names, or those without a kid). The registry is then never asked for
   * a verification key, so a planted key file or a forged `jku` cannot vouch for a file.
   */
  verifyKeys?: KeysOption;
  /** Directories a `file://` jku may point into (default: the registry's file provider, which follows none). */
  jkuRoots?: readonly string[];
  /** The registry to consult after `keys`; default the process-wide one. */
  keyRegistry?: KeyProviderRegistry;
}

/**
 * @internal A KeysOption as a KeyRing.
 */
export function toKeyRing(keys: KeysOption): KeyRing {
  return isKeyRing(keys) ? keys : parseKeySet(keys);
}

function callProviders(options: KeyTrustOptions): KeyProvider[] {
  const extra: KeyProvider[] = [];
  if (options.keys !== undefined) extra.push(new DirectKeyProvider(toKeyRing(options.keys), "options.keys"));
  if (options.jkuRoots !== undefined) extra.push(new FileKeyProvider({ roots: options.jkuRoots }));
  return extra;
}

/** @internal The master key named by the header's `enc` descriptor. */
export async function resolveMasterKey(descriptor: KeyDescriptor, options: KeyTrustOptions): Promise<ResolvedKey<MasterKey>> {
  const registry = options.keyRegistry ?? defaultKeyRegistry;
  return registry.lookup("master", request(descriptor), callProviders(options));
}

/** @internal The candidate verification keys for the header's `sign` descriptor. */
export async function resolveVerifyKeys(descriptor: KeyDescriptor, options: KeyTrustOptions): Promise<{ keys: SigningKey[]; pinned: boolean; release(): void }> {
  if (options.verifyKeys !== undefined) {
    const pinned = toKeyRing(options.verifyKeys).signers;
    if (pinned.length === 0) throw new TypeError("verifyKeys holds no Ed25519 (okp) key");
    const keys = pinned.filter((key) => descriptor.kid === undefined || key.kid === undefined || key.kid === descriptor.kid);
    if (keys.length === 0) {
      const kids = pinned.map((key) => quoteShort(key.kid ?? "")).join(", ");
      throw new CryptoTensorsError(
        "ERR_KEY_UNTRUSTED",
        `the header names signing kid ${quoteShort(descriptor.kid ?? "")}, which is not among the pinned verifyKeys (kids ${kids}); refusing the file`,
      );
    }
    return { keys, pinned: true, release: () => undefined };
  }
  const registry = options.keyRegistry ?? defaultKeyRegistry;
  const found = await registry.lookup("verify", request(descriptor), callProviders(options));
  return { keys: [found.key], pinned: false, release: found.release };
}

/**
 * @internal Verifies the header signature under one of `candidates` (several only when pinned
 * keys without a kid apply). None verifying → the error of the last attempt.
 */
export function verifyWithAny(payload: Uint8Array, signature: string, candidates: readonly SigningKey[], pinned: boolean): void {
  let failure: unknown;
  for (const key of candidates) {
    try {
      verifyPayload(payload, signature, key.publicKey);
      return;
    } catch (error) {
      if (!(error instanceof CryptoTensorsError) || error.code !== "ERR_SIGNATURE_INVALID") throw error;
      failure = error;
    }
  }
  if (pinned) {
    throw new CryptoTensorsError("ERR_SIGNATURE_INVALID", "header signature does not verify under any pinned verification key: the file was modified or signed by someone else", { cause: failure });
  }
  throw failure;
}

function request(descriptor: KeyDescriptor): { kid?: string; jku?: string } {
  return { ...(descriptor.kid === undefined ? {} : { kid: descriptor.kid }), ...(descriptor.jku === undefined ? {} : { jku: descriptor.jku }) };
}
