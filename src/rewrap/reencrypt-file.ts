// reencryptFile: revocation. A rewrap re-wraps the same data keys, so whoever kept an old data key
// or the old master key can still decrypt the rewrapped file. Re-encryption draws fresh data keys
// and IVs and streams every encrypted tensor through decrypt → encrypt (bounded memory: one piece
// or chunk at a time), writing a new file atomically; the old master key then opens nothing.
// Version, chunk size, the set of encrypted tensors, user metadata and the policy are kept.
import type { MasterKeyInput, SigningKeyInput } from "../keys/jwk-types.js";
import { CryptoTensorsError } from "../errors.js";
import {
  CRYPTO_KEYS_KEY,
  parseCryptoKeys,
  parsePolicy,
  POLICY_KEY,
  type KeyDescriptor,
} from "../crypto/reserved.js";
import { HeldKey } from "../keys/held-key.js";
import type { KeyProvider } from "../keys/provider.js";
import { KeyContext, type KeysOption, type KeyTrustOptions } from "../reader/key-lookup.js";
import { openFile } from "../reader/open-file.js";
import type { TensorFile } from "../reader/tensor-file.js";
import type { BackendChoice } from "../native/index.js";
import type { PolicyEvaluator } from "../policy/index.js";
import type { EncryptionOptions } from "../writer/seal-plan.js";
import type { TensorSource } from "../writer/tensor-source.js";
import { writeModel, type Progress } from "../writer/write-model.js";
import type { PolicyUpdate } from "./rewrap-header.js";

/** Options of {@link reencryptFile}. */
export interface ReencryptOptions extends Omit<KeyTrustOptions, "keys"> {
  /** Keys that open the file now (falls back to the registry, e.g. an HSM provider). */
  oldKeys?: KeysOption;
  /** The new master key: a JWK, a MasterKey or a {@link HeldKey} in an HSM/KMS. Required. */
  newEncKey: MasterKeyInput;
  /** The new signing key; absent: the header's signer, from `oldKeys` or a provider that signs. */
  newSignKey?: SigningKeyInput;
  /** New policy texts; a side left out keeps the file's current one. */
  policy?: PolicyUpdate;
  /** Write here instead of replacing `path` (then left untouched). */
  output?: string;
  policyEvaluator?: PolicyEvaluator;
  claims?: Record<string, unknown>;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  backend?: BackendChoice;
}

/** What {@link reencryptFile} did. */
export interface ReencryptResult {
  output: string;
  /** Tensors re-encrypted under fresh data keys. */
  reencrypted: number;
  /** Plaintext bytes streamed through (all tensors, encrypted or not). */
  bytes: number;
}

/**
 * Re-encrypts an encrypted file under a new master key with fresh data keys and IVs. The input
 * must open with the current keys (signature, policy checked); the result replaces `path` (or is
 * written to `output`) atomically. Afterwards the old master key and the old data keys open
 * nothing in the new file.
 *
 * @example
 * ```ts
 * await reencryptFile("model.ct", { oldKeys: leaked, newEncKey: fresh.keys[0], newSignKey: fresh.keys[1] });
 * ```
 */
export async function reencryptFile(
  path: string,
  options: ReencryptOptions,
): Promise<ReencryptResult> {
  if (typeof path !== "string" || path === "")
    throw new TypeError("path must be a non-empty string");
  if (options === null || typeof options !== "object")
    throw new TypeError("reencryptFile needs an options object");
  if (options.newEncKey === undefined || options.newEncKey === null) {
    throw new TypeError(
      "reencryptFile needs newEncKey: re-encrypting under the same master key would not revoke it",
    );
  }
  if (options.output !== undefined && (typeof options.output !== "string" || options.output === ""))
    throw new TypeError("output must be a non-empty path");
  const trust: KeyTrustOptions = {
    ...(options.oldKeys === undefined ? {} : { keys: options.oldKeys }),
    ...(options.verifyKeys === undefined ? {} : { verifyKeys: options.verifyKeys }),
    ...(options.jkuRoots === undefined ? {} : { jkuRoots: options.jkuRoots }),
    ...(options.keyRegistry === undefined ? {} : { keyRegistry: options.keyRegistry }),
  };
  const output = options.output ?? path;
  const input = await openFile(path, {
    ...trust,
    ...(options.policyEvaluator ? { policyEvaluator: options.policyEvaluator } : {}),
    ...(options.claims ? { claims: options.claims } : {}),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
  const context = KeyContext.open(trust);
  let release = (): void => undefined;
  try {
    const settings = await reencryption(input, options, context, path);
    const encryption = settings.encryption;
    release = settings.release;
    const sources = input.names().map((name) => fileSource(input, name));
    const metadata = Object.entries(input.metadata());
    await writeModel(output, sources, {
      ...(metadata.length > 0 ? { metadata } : {}),
      encryption,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
    });
    return {
      output,
      reencrypted: encryption.tensors?.length ?? 0,
      bytes: input.names().reduce((sum, name) => sum + input.info(name).byteLength, 0),
    };
  } finally {
    release();
    context.dispose();
    await input.close();
  }
}

/**
 * @internal The encryption settings that reproduce an opened file's (version, chunk size,
 * encrypted tensors, policy) under new keys; the signer defaults to the header's.
 */
export async function reencryption(
  input: TensorFile,
  options: Pick<ReencryptOptions, "newEncKey" | "newSignKey" | "policy">,
  context: KeyContext,
  path: string,
): Promise<{ encryption: EncryptionOptions & { tensors: string[] }; release(): void }> {
  const info = input.encryption();
  if (!info) {
    throw new CryptoTensorsError(
      "ERR_NOT_ENCRYPTED",
      `${path} is not encrypted: there is nothing to re-encrypt (use convertFile to encrypt it)`,
    );
  }
  const reserved = new Map(input.verifiedHeader().metadata ?? []);
  const policy = parsePolicy(reserved.get(POLICY_KEY) as string);
  const signer =
    options.newSignKey === undefined
      ? await headerSigner(context, parseCryptoKeys(reserved.get(CRYPTO_KEYS_KEY) as string).sign)
      : { key: options.newSignKey, release: () => undefined };
  const encryption = {
    encKey: options.newEncKey,
    signKey: signer.key,
    version: info.version,
    ...(info.chunkSize === null ? {} : { chunkSize: info.chunkSize }),
    tensors: info.encryptedTensors,
    policy: {
      local: options.policy?.local ?? policy.local,
      remote: options.policy?.remote ?? policy.remote,
    },
  };
  return { encryption, release: signer.release };
}

/** The header's signer: its key (wiped by `release` when parsed for this use) or the provider's. */
async function headerSigner(
  context: KeyContext,
  descriptor: KeyDescriptor,
): Promise<{ key: SigningKeyInput; release(): void }> {
  const access = await context.signerAccess(descriptor);
  if (access.key) return { key: access.key, release: access.release };
  const key = HeldKey.signer(access.heldBy as KeyProvider, {
    ...(descriptor.kid === undefined ? {} : { kid: descriptor.kid }),
    ...(descriptor.jku === undefined ? {} : { jku: descriptor.jku }),
  });
  return { key, release: access.release };
}

function fileSource(input: TensorFile, name: string): TensorSource {
  const info = input.info(name);
  return {
    name,
    dtype: info.dtype,
    shape: info.shape,
    read: async (start, end, scratch) => {
      const view = scratch.subarray(0, end - start);
      await input.readRange(name, start, end, view);
      return view;
    },
  };
}
