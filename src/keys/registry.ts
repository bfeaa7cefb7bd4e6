// The key provider registry (FORMAT.md §5.2): providers tried by priority (high first, ties in
// registration order); the first that is enabled, ready, matches the request and returns a key
// wins. A provider that fails is skipped and its failure reported if no key is found — except a
// malformed key (ERR_KEY_INVALID), which is an error, as in the reference.
import { CryptoTensorsError } from "../errors.js";
import { quoteShort } from "../crypto/quote.js";
import { EnvKeyProvider } from "./env-provider.js";
import { FileKeyProvider } from "./file-provider.js";
import {
  heldMasterAccess,
  heldSignerAccess,
  rawMasterAccess,
  rawSignerAccess,
  type MasterAccess,
  type SignerAccess,
} from "./key-access.js";
import { MasterKey, SigningKey, parseJwk } from "./jwk.js";
import type { KeyProvider, KeyRequest, ProvidedKey } from "./provider.js";

/** The three lookups: master (decrypt), verify (check the header signature), sign (write one). */
export type KeyKind = "master" | "verify" | "sign";

/** A key found by a lookup. Call `release()` when done: it wipes keys parsed for this lookup. */
export interface ResolvedKey<K extends MasterKey | SigningKey> {
  key: K;
  /** Name of the provider that answered. */
  provider: string;
  release(): void;
}

/** A registered provider as listed by {@link KeyProviderRegistry.list}. */
export interface ProviderStatus {
  name: string;
  priority: number;
  enabled: boolean;
}

/** Marks a provider that keeps the key and operates with it itself. */
const HELD = Symbol("held by the provider");

const METHOD = { master: "getMasterKey", verify: "getVerifyKey", sign: "getSigningKey" } as const;
const ROLE = {
  master: "master (decryption)",
  verify: "verification",
  sign: "signing (private Ed25519)",
} as const;

/**
 * An ordered set of key providers. Unlike the reference, `disable` keeps a provider registered
 * so `enable` can restore it; `unregister` removes it.
 *
 * @example
 * ```ts
 * const registry = new KeyProviderRegistry([new EnvKeyProvider()]);
 * registry.register(myVaultProvider);
 * const { key, release } = await registry.lookup("master", { kid: "enc-1" });
 * try { use(key.key); } finally { release(); }
 * ```
 */
export class KeyProviderRegistry {
  #entries: Array<{ provider: KeyProvider; enabled: boolean }> = [];

  constructor(providers: readonly KeyProvider[] = []) {
    for (const provider of providers) this.register(provider);
  }

  /** Adds a provider, replacing (in place of order) any provider of the same name. */
  register(provider: KeyProvider): void {
    checkProvider(provider);
    this.#entries = this.#entries.filter((entry) => entry.provider.name !== provider.name);
    this.#entries.push({ provider, enabled: true });
  }

  /** Removes a provider; false if none had that name. */
  unregister(name: string): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => entry.provider.name !== name);
    return this.#entries.length !== before;
  }

  /** Turns a registered provider back on; false if none had that name. */
  enable(name: string): boolean {
    return this.#setEnabled(name, true);
  }

  /** Keeps a provider registered but skips it in lookups; false if none had that name. */
  disable(name: string): boolean {
    return this.#setEnabled(name, false);
  }

  /** The registered providers in lookup order. */
  list(): ProviderStatus[] {
    return this.#ordered(this.#entries).map(({ provider, enabled }) => ({
      name: provider.name,
      priority: provider.priority,
      enabled,
    }));
  }

  /**
   * The enabled providers in lookup order, with `extra` (per-call providers such as the keys
   * of `options.keys`) merged in; an extra provider replaces a registered one of the same name.
   */
  providers(extra: readonly KeyProvider[] = []): KeyProvider[] {
    const names = new Set(extra.map((p) => p.name));
    const merged = [
      ...extra.map((provider) => ({ provider, enabled: true })),
      ...this.#entries.filter((e) => !names.has(e.provider.name)),
    ];
    return this.#ordered(merged)
      .filter((e) => e.enabled)
      .map((e) => e.provider);
  }

  /**
   * Finds a key of `kind` for the header's kid/jku. None found → `ERR_KEY_NOT_FOUND` naming the
   * kid, the jku and what each provider said (`ERR_KEY_UNTRUSTED` when a provider refused the
   * jku by the trust settings); a malformed key or one of the wrong kind → `ERR_KEY_INVALID`.
   */
  async lookup<T extends KeyKind>(
    kind: T,
    request: KeyRequest,
    extra: readonly KeyProvider[] = [],
  ): Promise<ResolvedKey<T extends "master" ? MasterKey : SigningKey>> {
    return this.#first(
      kind,
      request,
      extra,
      (provider) => {
        const getter = provider[METHOD[kind]];
        return typeof getter === "function" ? () => getter.call(provider, request) : undefined;
      },
      (value, provider) =>
        accept(value as NonNullable<ProvidedKey>, kind, provider.name) as ResolvedKey<
          T extends "master" ? MasterKey : SigningKey
        >,
    );
  }

  /**
   * The master key for the header's kid/jku, as the same lookup as `lookup("master")` would find
   * it, except that a provider with `unwrapDataKeys` answers with access to a key it keeps (it is
   * asked to unwrap only when the caller unwraps). Same errors as {@link lookup}.
   */
  async resolveMaster(
    request: KeyRequest,
    extra: readonly KeyProvider[] = [],
  ): Promise<MasterAccess> {
    return this.#first(
      "master",
      request,
      extra,
      (provider) =>
        typeof provider.unwrapDataKeys === "function"
          ? async () => HELD
          : typeof provider.getMasterKey === "function"
            ? () => provider.getMasterKey?.(request)
            : undefined,
      (value, provider) => {
        if (value === HELD) return heldMasterAccess(provider, request);
        const found = accept(value as NonNullable<ProvidedKey>, "master", provider.name);
        return rawMasterAccess(found.key as MasterKey, provider.name, found.release);
      },
    );
  }

  /**
   * The private signing key for the header's kid/jku; a provider with `sign` answers with access
   * to a key it keeps. Same errors as {@link lookup}.
   */
  async resolveSigner(
    request: KeyRequest,
    extra: readonly KeyProvider[] = [],
  ): Promise<SignerAccess> {
    return this.#first(
      "sign",
      request,
      extra,
      (provider) =>
        typeof provider.sign === "function"
          ? async () => HELD
          : typeof provider.getSigningKey === "function"
            ? () => provider.getSigningKey?.(request)
            : undefined,
      (value, provider) => {
        if (value === HELD) return heldSignerAccess(provider, request);
        const found = accept(value as NonNullable<ProvidedKey>, "sign", provider.name);
        return rawSignerAccess(found.key as SigningKey, provider.name, found.release);
      },
    );
  }

  /**
   * The priority walk shared by every lookup: the first enabled, ready, matching provider whose
   * `call` answers something wins and `finish` turns the answer into the result.
   */
  async #first<R>(
    kind: KeyKind,
    request: KeyRequest,
    extra: readonly KeyProvider[],
    call: (provider: KeyProvider) => (() => Promise<unknown> | undefined) | undefined,
    finish: (value: unknown, provider: KeyProvider) => R,
  ): Promise<R> {
    const notes: string[] = [];
    let refused = false;
    for (const provider of this.providers(extra)) {
      const answer = call(provider);
      if (answer === undefined) continue;
      let value: unknown;
      try {
        // A user provider's isReady/matches may throw too: treated like a failed lookup.
        if (provider.isReady && !(await provider.isReady())) {
          notes.push(`${provider.name}: not ready`);
          continue;
        }
        if (provider.matches && !provider.matches(request)) {
          notes.push(`${provider.name}: does not serve ${describeRequest(request)}`);
          continue;
        }
        value = await answer();
      } catch (error) {
        if (error instanceof CryptoTensorsError && error.code === "ERR_KEY_INVALID") {
          throw new CryptoTensorsError(
            "ERR_KEY_INVALID",
            `key provider "${provider.name}": ${error.message}`,
          );
        }
        if (error instanceof CryptoTensorsError && error.code === "ERR_KEY_UNTRUSTED")
          refused = true;
        notes.push(`${provider.name}: ${describeFailure(error)}`);
        continue;
      }
      if (value === undefined || value === null) {
        notes.push(`${provider.name}: no such key`);
        continue;
      }
      return finish(value, provider);
    }
    const looked = notes.length > 0 ? notes.join("; ") : "no provider serves this kind of key";
    throw new CryptoTensorsError(
      refused ? "ERR_KEY_UNTRUSTED" : "ERR_KEY_NOT_FOUND",
      `no ${ROLE[kind]} key for ${describeRequest(request)} was found (looked in: ${looked}). ` +
        "Pass the keys with { keys }, set CRYPTOTENSOR_KEYS, or register a key provider.",
    );
  }

  #setEnabled(name: string, enabled: boolean): boolean {
    const entry = this.#entries.find((e) => e.provider.name === name);
    if (entry) entry.enabled = enabled;
    return entry !== undefined;
  }

  #ordered<E extends { provider: KeyProvider }>(entries: readonly E[]): E[] {
    // Array.prototype.sort is stable: equal priorities keep their order.
    return [...entries].sort((a, b) => b.provider.priority - a.provider.priority);
  }
}

function checkProvider(provider: KeyProvider): void {
  if (provider === null || typeof provider !== "object")
    throw new TypeError("a key provider must be an object");
  if (typeof provider.name !== "string" || provider.name === "")
    throw new TypeError("a key provider needs a non-empty string name");
  if (typeof provider.priority !== "number" || !Number.isFinite(provider.priority))
    throw new TypeError(`key provider "${provider.name}" needs a finite numeric priority`);
  if (
    ![
      provider.getMasterKey,
      provider.getVerifyKey,
      provider.getSigningKey,
      provider.unwrapDataKeys,
      provider.wrapDataKeys,
      provider.sign,
    ].some((g) => typeof g === "function")
  ) {
    throw new TypeError(
      `key provider "${provider.name}" implements none of getMasterKey, getVerifyKey, getSigningKey, unwrapDataKeys, wrapDataKeys, sign`,
    );
  }
}

function accept(
  value: NonNullable<ProvidedKey>,
  kind: KeyKind,
  name: string,
): ResolvedKey<MasterKey | SigningKey> {
  const owned = !(value instanceof MasterKey || value instanceof SigningKey);
  const key = owned ? parseJwk(value, `key provider "${name}"`) : (value as MasterKey | SigningKey);
  const wrongKind =
    kind === "master"
      ? !(key instanceof MasterKey)
      : !(key instanceof SigningKey) || (kind === "sign" && !key.canSign);
  if (wrongKind) {
    if (owned) key.wipe();
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `key provider "${name}" answered a ${ROLE[kind]} key lookup with another kind of key`,
    );
  }
  return { key, provider: name, release: () => (owned ? key.wipe() : undefined) };
}

function describeRequest(request: KeyRequest): string {
  const kid = request.kid === undefined ? "no kid" : `kid ${quoteShort(request.kid)}`;
  return request.jku === undefined ? kid : `${kid}, jku ${quoteShort(request.jku)}`;
}

function describeFailure(error: unknown): string {
  // Only our own errors' messages are known to be free of key material.
  if (error instanceof CryptoTensorsError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `failed (${error.name})` : "failed";
}

/**
 * The process-wide registry used when no `keyRegistry` option is given: the `file://` jku
 * provider (no roots, so it follows nothing until configured) and `CRYPTOTENSOR_KEYS`.
 *
 * @example
 * ```ts
 * defaultKeyRegistry.register(new FileKeyProvider({ roots: ["/etc/cryptotensors/keys"] }));
 * ```
 */
export const defaultKeyRegistry = new KeyProviderRegistry([
  new FileKeyProvider(),
  new EnvKeyProvider(),
]);

/**
 * Registers a provider in the process-wide registry (replacing one of the same name).
 *
 * @example
 * ```ts
 * registerKeyProvider({ name: "kms", priority: 50, getMasterKey: async ({ kid }) => kms.jwk(kid) });
 * ```
 */
export function registerKeyProvider(provider: KeyProvider): void {
  defaultKeyRegistry.register(provider);
}

/**
 * Removes a provider from the process-wide registry; false if there was none of that name.
 *
 * @example
 * ```ts
 * unregisterKeyProvider("kms");
 * ```
 */
export function unregisterKeyProvider(name: string): boolean {
  return defaultKeyRegistry.unregister(name);
}

/**
 * Re-enables a provider of the process-wide registry.
 *
 * @example
 * ```ts
 * enableKeyProvider("env");
 * ```
 */
export function enableKeyProvider(name: string): boolean {
  return defaultKeyRegistry.enable(name);
}

/**
 * Disables (skips, without removing) a provider of the process-wide registry, e.g. `"env"` to
 * ignore CRYPTOTENSOR_KEYS.
 *
 * @example
 * ```ts
 * disableKeyProvider("env");
 * ```
 */
export function disableKeyProvider(name: string): boolean {
  return defaultKeyRegistry.disable(name);
}
