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
import type { JwkSet, KeyInput } from "../keys/jwk-types.js";
import type { MasterAccess, SignerAccess } from "../keys/key-access.js";
import { parseKeySet, type KeyRing } from "../keys/keyring.js";
import { DirectKeyProvider, isKeyRing, type KeyProvider } from "../keys/provider.js";
import {
  defaultKeyRegistry,
  type KeyProviderRegistry,
  type ResolvedKey,
} from "../keys/registry.js";

/** What callers may pass as `keys`: a JWK set `{ keys: [...] }`, an array of JWKs, one JWK, or a parsed KeyRing. */
export type KeysOption = KeyRing | JwkSet | readonly KeyInput[] | KeyInput;

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

/**
 * @internal Parses `keys` once for several files opened with the same options (the shards of a
 * model): each file's {@link KeyContext} then takes the ring as given instead of parsing the JWKs
 * (and deriving the Ed25519 key objects) again. `wipe()` zeroes the keys parsed here, never key
 * objects the caller passed in.
 *
 * @example
 * ```ts
 * const shared = parseKeysOnce(options.keys);
 * try { for (const shard of shards) await openFile(shard, { ...options, keys: shared.ring }); }
 * finally { shared.wipe(); }
 * ```
 */
export function parseKeysOnce(keys: KeysOption): { ring: KeyRing; wipe(): void } {
  const ring = toKeyRing(keys);
  const parsed = parsedKeys(keys, ring);
  return {
    ring,
    wipe: () => {
      for (const key of parsed.splice(0)) key.wipe();
    },
  };
}

/** Keys of a KeysOption that were parsed from JWKs here (not key objects the caller passed). */
function parsedKeys(input: KeysOption, ring: KeyRing): Array<MasterKey | SigningKey> {
  if (isKeyRing(input)) return [];
  const given = new Set<unknown>(
    Array.isArray(input)
      ? input
      : Array.isArray((input as { keys?: unknown }).keys)
        ? (input as { keys: unknown[] }).keys
        : [input],
  );
  return [...ring.masters, ...ring.signers].filter((key) => !given.has(key));
}

/**
 * @internal The keys of one operation: per-call providers built once from the options, and the
 * keys parsed for it, wiped by `dispose()` (key objects the caller passed in are left alone).
 *
 * @example
 * ```ts
 * const context = KeyContext.open(options);
 * try { const master = await context.master(cryptoKeys.enc); … } finally { context.dispose(); }
 * ```
 */
export class KeyContext {
  readonly #registry: KeyProviderRegistry;
  readonly #extra: KeyProvider[] = [];
  readonly #pinned: SigningKey[] | undefined;
  readonly #parsed: Array<MasterKey | SigningKey> = [];

  private constructor(options: KeyTrustOptions) {
    this.#registry = options.keyRegistry ?? defaultKeyRegistry;
    try {
      if (options.keys !== undefined) {
        const ring = toKeyRing(options.keys);
        this.#parsed.push(...parsedKeys(options.keys, ring));
        this.#extra.push(new DirectKeyProvider(ring, "options.keys"));
      }
      if (options.jkuRoots !== undefined)
        this.#extra.push(new FileKeyProvider({ roots: options.jkuRoots }));
      if (options.verifyKeys !== undefined) {
        const ring = toKeyRing(options.verifyKeys);
        this.#parsed.push(...parsedKeys(options.verifyKeys, ring));
        this.#pinned = [...ring.signers];
        if (this.#pinned.length === 0) throw new TypeError("verifyKeys holds no Ed25519 (okp) key");
      }
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** True when verification keys are pinned: the verification key then does not depend on the header. */
  get pinned(): boolean {
    return this.#pinned !== undefined;
  }

  static open(options: KeyTrustOptions): KeyContext {
    return new KeyContext(options);
  }

  /** The master key named by the header's `enc` descriptor. */
  async master(descriptor: KeyDescriptor): Promise<ResolvedKey<MasterKey>> {
    return this.#registry.lookup("master", request(descriptor), this.#extra);
  }

  /**
   * The master key named by the header's `enc` descriptor, as bytes or held by its provider
   * (an HSM/KMS that unwraps itself); same priorities and errors as {@link master}.
   */
  async masterAccess(descriptor: KeyDescriptor): Promise<MasterAccess> {
    return this.#registry.resolveMaster(request(descriptor), this.#extra);
  }

  /** Signing with the private key named by `descriptor`, as bytes or inside its provider. */
  async signerAccess(descriptor: KeyDescriptor): Promise<SignerAccess> {
    return this.#registry.resolveSigner(request(descriptor), this.#extra);
  }

  /** A private signing key named by the header's `sign` descriptor (for re-signing). */
  async signer(descriptor: KeyDescriptor): Promise<ResolvedKey<SigningKey>> {
    return this.#registry.lookup("sign", request(descriptor), this.#extra);
  }

  /** The candidate verification keys: the pinned ones that apply, else the registry's answer. */
  async verifiers(
    descriptor: KeyDescriptor,
  ): Promise<{ keys: SigningKey[]; pinned: boolean; release(): void }> {
    if (this.#pinned !== undefined) {
      const keys = this.#pinned.filter(
        (key) =>
          descriptor.kid === undefined || key.kid === undefined || key.kid === descriptor.kid,
      );
      if (keys.length === 0) {
        const kids = this.#pinned.map((key) => quoteShort(key.kid ?? "")).join(", ");
        throw new CryptoTensorsError(
          "ERR_KEY_UNTRUSTED",
          `the header names signing kid ${quoteShort(descriptor.kid ?? "")}, which is not among the pinned verifyKeys (kids ${kids}); refusing the file`,
        );
      }
      return { keys, pinned: true, release: () => undefined };
    }
    const found = await this.#registry.lookup("verify", request(descriptor), this.#extra);
    return { keys: [found.key], pinned: false, release: found.release };
  }

  /** Wipes the keys parsed from the options. */
  dispose(): void {
    for (const key of this.#parsed.splice(0)) key.wipe();
  }
}

/**
 * @internal Verifies the header signature under one of `candidates` (several only when pinned
 * keys without a kid apply). None verifying → the error of the last attempt.
 */
export function verifyWithAny(
  payload: Uint8Array,
  signature: string,
  candidates: readonly SigningKey[],
  pinned: boolean,
): void {
  let failure: unknown;
  for (const key of candidates) {
    try {
      verifyPayload(payload, signature, key.publicKey);
      return;
    } catch (error) {
      if (!(error instanceof CryptoTensorsError) || error.code !== "ERR_SIGNATURE_INVALID")
        throw error;
      failure = error;
    }
  }
  if (pinned) {
    throw new CryptoTensorsError(
      "ERR_SIGNATURE_INVALID",
      "header signature does not verify under any pinned verification key: the file was modified or signed by someone else",
      { cause: failure },
    );
  }
  throw failure;
}

function request(descriptor: KeyDescriptor): { kid?: string; jku?: string } {
  return {
    ...(descriptor.kid === undefined ? {} : { kid: descriptor.kid }),
    ...(descriptor.jku === undefined ? {} : { jku: descriptor.jku }),
  };
}
