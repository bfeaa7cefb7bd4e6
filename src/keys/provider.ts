// The KeyProvider contract (FORMAT.md §5.2) and the provider for keys passed in directly. A
// provider answers one lookup at a time: given the header's kid/jku it returns a key, or
// undefined when it has none; a throw is recorded and the next provider is tried.
import type { WrappedDataKey } from "../crypto/envelope.js";
import type { MasterKey, SigningKey } from "./jwk.js";
import { parseKeySet, type KeyRing } from "./keyring.js";

/** What a lookup asks for: the header descriptor's `kid` and `jku` (either may be absent). */
export interface KeyRequest {
  kid?: string;
  jku?: string;
}

/**
 * The file an unwrap is for: its header bytes (signed, so a key-release service can check them
 * and evaluate the file's `remote` policy), the file size they describe, and the tensor names of
 * the wrapped entries, in order.
 */
export interface DataKeyFile {
  header: Uint8Array;
  size: number;
  tensors: readonly string[];
}

/** A lookup that also names the data algorithm (`aes256gcm` or `chacha20poly1305`, from the header). */
export interface DataKeyRequest extends KeyRequest {
  alg: string;
  /** At open time: the file and tensors the keys are for (absent for other unwraps). */
  file?: DataKeyFile;
}

/**
 * What a provider may return: a parsed key (kept by the provider; never wiped by the library),
 * a JWK object in either accepted form (parsed, used once, then wiped), or undefined for "none".
 */
export type ProvidedKey = MasterKey | SigningKey | Record<string, unknown> | undefined;

/**
 * A source of keys: a KMS, a vault, an HSM, a key directory. Implement the getters you can
 * answer; a missing getter means "never has such a key". A provider whose master keys must not
 * leave it implements `unwrapDataKeys`/`wrapDataKeys` instead of `getMasterKey`, and `sign`
 * instead of `getSigningKey`: the library then hands it wrapped data keys (all of one open in one
 * batch) or the signature payload, and never sees the master or signing key. Priorities follow the reference: direct keys
 * 100, native plugins 50, `file://` jku 10, `CRYPTOTENSOR_KEYS` 0; user providers choose theirs.
 *
 * @example
 * ```ts
 * const vault: KeyProvider = {
 *   name: "vault",
 *   priority: 60,
 *   matches: ({ kid }) => kid?.startsWith("vault:") ?? false,
 *   async getMasterKey({ kid }) { return await fetchJwkFromVault(kid); },
 * };
 * registerKeyProvider(vault);
 * ```
 */
export interface KeyProvider {
  /** Unique name; registering another provider of the same name replaces it. */
  readonly name: string;
  /** Higher first; ties keep registration order. */
  readonly priority: number;
  /** False while the provider cannot answer (not configured, no connection); it is then skipped. */
  isReady?(): boolean | Promise<boolean>;
  /** False when this provider does not serve keys named like this; it is then skipped. */
  matches?(request: KeyRequest): boolean;
  /** The symmetric master key (kty "oct") named by the header's `enc` descriptor. */
  getMasterKey?(request: KeyRequest): Promise<ProvidedKey>;
  /** The Ed25519 public key named by the header's `sign` descriptor. */
  getVerifyKey?(request: KeyRequest): Promise<ProvidedKey>;
  /** An Ed25519 private key, for signing (saving or rewrapping). */
  getSigningKey?(request: KeyRequest): Promise<ProvidedKey>;
  /**
   * Unwraps data keys under the master key named by `request` without revealing it: one data key
   * (a Buffer of the algorithm's key length, wiped by the library after use) per entry, in order,
   * or undefined when the provider has no such key. A tag that does not verify throws
   * `ERR_DECRYPTION_FAILED`. Preferred over `getMasterKey` when both exist.
   */
  unwrapDataKeys?(
    request: DataKeyRequest,
    wrapped: readonly WrappedDataKey[],
  ): Promise<Buffer[] | undefined>;
  /**
   * Wraps fresh data keys under the named master key (each with its own random 12-byte key_iv),
   * for writing; undefined when the provider has no such key.
   */
  wrapDataKeys?(
    request: DataKeyRequest,
    dataKeys: readonly Uint8Array[],
  ): Promise<WrappedDataKey[] | undefined>;
  /**
   * The 64-byte Ed25519 signature of `payload` under the named private key, made inside the
   * provider; undefined when it has no such key. Preferred over `getSigningKey` when both exist.
   */
  sign?(request: KeyRequest, payload: Uint8Array): Promise<Uint8Array | undefined>;
}

/** Priority of keys passed in directly (options.keys), as the reference's DirectKeyProvider. */
export const DIRECT_PRIORITY = 100;

/**
 * Serves the keys of a {@link KeyRing} with the reference's selection: with a kid the exact
 * match, without one the first key of the kind. Keys are returned as held (never wiped).
 *
 * @example
 * ```ts
 * const direct = new DirectKeyProvider({ keys: [encJwk, signJwk] }, "options.keys");
 * await direct.getMasterKey({ kid: "enc-1" }); // MasterKey or undefined
 * ```
 */
export class DirectKeyProvider implements KeyProvider {
  readonly name: string;
  readonly priority: number;
  readonly ring: KeyRing;

  constructor(keys: unknown, name = "direct", priority = DIRECT_PRIORITY) {
    this.ring = isKeyRing(keys) ? keys : parseKeySet(keys);
    this.name = name;
    this.priority = priority;
  }

  isReady(): boolean {
    return this.ring.masters.length + this.ring.signers.length > 0;
  }

  async getMasterKey(request: KeyRequest): Promise<MasterKey | undefined> {
    return this.ring.findMaster(request.kid);
  }

  async getVerifyKey(request: KeyRequest): Promise<SigningKey | undefined> {
    return this.ring.findVerifier(request.kid);
  }

  async getSigningKey(request: KeyRequest): Promise<SigningKey | undefined> {
    return this.ring.findSigner(request.kid);
  }
}

/** Structural check, so a KeyRing from another copy of the module is accepted too. */
export function isKeyRing(value: unknown): value is KeyRing {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as KeyRing).findMaster === "function" &&
    Array.isArray((value as KeyRing).masters)
  );
}
