// One way to use a master or signing key whether its bytes are here (a JWK handed over by a
// provider or passed in) or stay inside a key provider (an HSM or KMS that unwraps, wraps and
// signs itself). The reader, the writer and rewrap go through these, so both kinds of key follow
// the same checks, errors and wiping.
import { CryptoTensorsError } from "../errors.js";
import { keyLength, type AeadAlgorithm } from "../crypto/algorithms.js";
import { encodeBase64 } from "../crypto/base64.js";
import type { WrappedDataKey } from "../crypto/envelope.js";
import { quoteShort } from "../crypto/quote.js";
import type { MasterKey, SigningKey } from "./jwk.js";
import type { DataKeyFile, KeyProvider, KeyRequest } from "./provider.js";
import { signWithSeed } from "./native-keys.js";
import { unwrapDataKeys } from "./unwrap-batch.js";
import { wrapDataKeysBatch } from "./wrap-batch.js";

/** Length of an Ed25519 signature. */
const SIGNATURE_LENGTH = 64;

/** A master key to unwrap or wrap data keys with; call `release()` when done. */
export interface MasterAccess {
  /** Name of the provider that answered (or "options.keys"/"encKey" for keys passed in). */
  readonly provider: string;
  /** The raw key's own `alg` (may be ""), or undefined when the key stays in its provider. */
  readonly alg: string | undefined;
  /**
   * Data keys of `wrapped`, in order; each is wiped by the caller after use. `file` names the
   * file and tensors they belong to (for providers that release keys per model).
   */
  unwrap(
    algorithm: AeadAlgorithm,
    wrapped: readonly WrappedDataKey[],
    file?: DataKeyFile,
  ): Promise<Buffer[]>;
  /** `dataKeys` wrapped, each with a fresh random key_iv. */
  wrap(algorithm: AeadAlgorithm, dataKeys: readonly Uint8Array[]): Promise<WrappedDataKey[]>;
  release(): void;
}

/** A private Ed25519 key to sign a header with; call `release()` when done. */
export interface SignerAccess {
  readonly provider: string;
  /** The key, when its bytes are here. */
  readonly key?: SigningKey;
  /** The provider that keeps the key and signs, when they are not. */
  readonly heldBy?: KeyProvider;
  /** The standard base64 `__signature__` of `payload`. */
  sign(payload: Uint8Array): Promise<string>;
  release(): void;
}

/**
 * @internal Access to a master key whose bytes are here. `release` runs when done (it wipes the
 * key when it was parsed for this use).
 */
export function rawMasterAccess(
  key: MasterKey,
  provider: string,
  release: () => void = () => undefined,
): MasterAccess {
  const checkLength = (algorithm: AeadAlgorithm): void => {
    if (key.key.length !== keyLength(algorithm)) {
      throw new CryptoTensorsError(
        "ERR_INVALID_KEY_LENGTH",
        `the master key for ${algorithm} must be ${keyLength(algorithm)} bytes; the key given has another length`,
      );
    }
  };
  return {
    provider,
    alg: key.alg,
    async unwrap(algorithm, wrapped) {
      checkLength(algorithm);
      return unwrapDataKeys(algorithm, key.key, wrapped);
    },
    async wrap(algorithm, dataKeys) {
      checkLength(algorithm);
      return wrapDataKeysBatch(algorithm, key.key, dataKeys);
    },
    release,
  };
}

/**
 * @internal Access to a master key held by `provider` (which implements `unwrapDataKeys` /
 * `wrapDataKeys`): every open is one batched call, and the key never reaches this process.
 */
export function heldMasterAccess(provider: KeyProvider, request: KeyRequest): MasterAccess {
  const name = provider.name;
  return {
    provider: name,
    alg: undefined,
    async unwrap(algorithm, wrapped, file) {
      if (typeof provider.unwrapDataKeys !== "function") {
        throw new CryptoTensorsError(
          "ERR_KEY_NOT_FOUND",
          `key provider "${name}" cannot unwrap data keys (it has no unwrapDataKeys)`,
        );
      }
      if (wrapped.length === 0) return [];
      const keys = await callProvider(name, () =>
        provider.unwrapDataKeys?.(
          { ...request, alg: algorithm, ...(file === undefined ? {} : { file }) },
          wrapped,
        ),
      );
      if (keys === undefined || keys === null) throw notFound(name, "master", request);
      const expected = keyLength(algorithm);
      if (
        !Array.isArray(keys) ||
        keys.length !== wrapped.length ||
        !keys.every((k) => Buffer.isBuffer(k) && k.length === expected)
      ) {
        if (Array.isArray(keys)) for (const k of keys) if (Buffer.isBuffer(k)) k.fill(0);
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `key provider "${name}" answered an unwrap of ${wrapped.length} data keys with something other than ${wrapped.length} ${expected}-byte Buffers`,
        );
      }
      return keys;
    },
    async wrap(algorithm, dataKeys) {
      if (typeof provider.wrapDataKeys !== "function") {
        throw new CryptoTensorsError(
          "ERR_KEY_NOT_FOUND",
          `key provider "${name}" cannot wrap data keys (it has no wrapDataKeys)`,
        );
      }
      if (dataKeys.length === 0) return [];
      const wrapped = await callProvider(name, () =>
        provider.wrapDataKeys?.({ ...request, alg: algorithm }, dataKeys),
      );
      if (wrapped === undefined || wrapped === null) throw notFound(name, "master", request);
      if (
        !Array.isArray(wrapped) ||
        wrapped.length !== dataKeys.length ||
        !wrapped.every(isWrapped)
      ) {
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `key provider "${name}" answered a wrap of ${dataKeys.length} data keys with something other than ${dataKeys.length} wrapped keys (12-byte key_iv, 16-byte key_tag)`,
        );
      }
      return wrapped;
    },
    release: () => undefined,
  };
}

/** @internal Signing with a private key whose bytes are here. */
export function rawSignerAccess(
  key: SigningKey,
  provider: string,
  release: () => void = () => undefined,
): SignerAccess {
  if (!key.canSign) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `the signing key from ${provider} has no private part (d)`,
    );
  }
  return {
    provider,
    key,
    sign: async (payload) => signWithSeed(payload, key.privateKey as Buffer),
    release,
  };
}

/** @internal Signing inside `provider` (which implements `sign`). */
export function heldSignerAccess(provider: KeyProvider, request: KeyRequest): SignerAccess {
  const name = provider.name;
  return {
    provider: name,
    heldBy: provider,
    async sign(payload) {
      if (typeof provider.sign !== "function") {
        throw new CryptoTensorsError(
          "ERR_KEY_NOT_FOUND",
          `key provider "${name}" cannot sign (it has no sign)`,
        );
      }
      const signature = await callProvider(name, () => provider.sign?.(request, payload));
      if (signature === undefined || signature === null) throw notFound(name, "sign", request);
      if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `key provider "${name}" answered a signing request with something other than a 64-byte Ed25519 signature`,
        );
      }
      return encodeBase64(signature);
    },
    release: () => undefined,
  };
}

/** Runs a provider operation; a foreign error becomes a typed one that names only the provider. */
async function callProvider<T>(
  name: string,
  run: () => Promise<T> | undefined,
): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CryptoTensorsError) throw error;
    // Only our own errors' messages are known to be free of key material.
    throw new CryptoTensorsError(
      "ERR_KEY_PROVIDER",
      `key provider "${name}" failed (${error instanceof Error ? error.name : "error"}); nothing was decrypted or signed`,
      { cause: error },
    );
  }
}

function notFound(name: string, role: "master" | "sign", request: KeyRequest): CryptoTensorsError {
  const kid = request.kid === undefined ? "no kid" : `kid ${quoteShort(request.kid)}`;
  return new CryptoTensorsError(
    "ERR_KEY_NOT_FOUND",
    `key provider "${name}" has no ${role === "master" ? "master" : "signing"} key for ${kid}`,
  );
}

function isWrapped(value: unknown): value is WrappedDataKey {
  const w = value as WrappedDataKey;
  return (
    value !== null &&
    typeof value === "object" &&
    Buffer.isBuffer(w.wrappedKey) &&
    Buffer.isBuffer(w.keyIv) &&
    w.keyIv.length === 12 &&
    Buffer.isBuffer(w.keyTag) &&
    w.keyTag.length === 16
  );
}
