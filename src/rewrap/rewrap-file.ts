// rewrapFile: key rotation without touching the data (FORMAT.md §7.4). The file is opened with
// the old keys exactly like a load (signature, policy, every data key unwrapped), a new header is
// built, and it replaces the old one atomically: in place under a journal when it fits the old
// header's space (O(header)), else through a temporary file renamed over the destination.
import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { CryptoTensorsError, NotSupportedError } from "../errors.js";
import { HeldKey } from "../keys/held-key.js";
import { MasterKey, SigningKey, parseJwk } from "../keys/jwk.js";
import type { BackendFile } from "../native/backend.js";
import { type BackendChoice, getBackend } from "../native/index.js";
import type { PolicyEvaluator } from "../policy/index.js";
import { KeyContext, type KeysOption, type KeyTrustOptions } from "../reader/key-lookup.js";
import { readHeaderRegion } from "../reader/open-file.js";
import { isEncrypted, unlock, wipeUnlocked, type Unlocked } from "../reader/unlock.js";
import { rewriteRegionJournaled } from "./journal.js";
import { clonePatched, streamWithPrefix } from "./replace-file.js";
import { padToLength, rewrappedHeader, type PolicyUpdate } from "./rewrap-header.js";

/** Options of {@link rewrapFile}. */
export interface RewrapOptions extends Omit<KeyTrustOptions, "keys"> {
  /** Keys that open the file now (master and verification key; a JWK set, JWKs or a KeyRing). Falls back to the registry. */
  oldKeys?: KeysOption;
  /** New master key (JWK in either form, or a MasterKey) of the same algorithm; absent keeps the current wrapping. */
  newEncKey?: unknown;
  /**
   * New signing key (Ed25519 JWK with `d`, or a SigningKey). Absent: the private key named by the
   * header's `sign` descriptor, from `oldKeys` or a registered provider that serves signing keys.
   */
  newSignKey?: unknown;
  /** New policy texts; a side left out keeps the current one (the reference resets it to the default). */
  policy?: PolicyUpdate;
  /** Write the result here instead of replacing `path` (which is then left untouched). */
  output?: string;
  /** Evaluates the file's current local policy before anything is changed; default the embedded engine. */
  policyEvaluator?: PolicyEvaluator;
  claims?: Record<string, unknown>;
  /** Backend that reads the file; default the native addon, or node:crypto (with one warning) if it cannot load. */
  backend?: BackendChoice;
}

/** How the new header reached the disk. */
export type RewrapMethod = "in-place" | "clone" | "copy";

/** What {@link rewrapFile} did. */
export interface RewrapResult {
  output: string;
  /** `in-place`: only the header region was rewritten (journaled); `clone`: reflink/kernel copy + header patch; `copy`: the data was streamed (the header grew). */
  method: RewrapMethod;
  headerLength: number;
  previousHeaderLength: number;
  /** Number of data keys re-wrapped (0 when only the signing key or policy changed). */
  rewrapped: number;
}

/**
 * Re-wraps every data key of an encrypted file under a new master key and/or re-signs its
 * header with a new signing key and/or replaces its policy; tensor data, IVs and tags are left
 * byte for byte. The file must open with `oldKeys` (same checks as openFile). Atomic: a crash
 * leaves the old file or the new one (an interrupted in-place rewrite is finished by
 * {@link recoverRewrap}).
 *
 * @example
 * ```ts
 * await rewrapFile("model.ct", { oldKeys: oldJwks, newEncKey: newJwks.keys[0], newSignKey: newJwks.keys[1] });
 * await rewrapFile("model.ct", { oldKeys: oldJwks, newSignKey: signer, output: "model-resigned.ct" });
 * ```
 */
export async function rewrapFile(path: string, options: RewrapOptions): Promise<RewrapResult> {
  if (typeof path !== "string" || path === "")
    throw new TypeError("path must be a non-empty string");
  if (options === null || typeof options !== "object")
    throw new TypeError("rewrapFile needs an options object");
  if (
    options.newEncKey === undefined &&
    options.newSignKey === undefined &&
    options.policy === undefined
  ) {
    throw new TypeError(
      "rewrapFile needs newEncKey, newSignKey or policy: there is nothing to change",
    );
  }
  if (options.output !== undefined && (typeof options.output !== "string" || options.output === ""))
    throw new TypeError("output must be a non-empty path");
  // Symbolic links are followed, for IN and OUT alike: a rewrap writes the file a link names and
  // keeps the link, whether the new header fits (in place) or not (temporary file renamed over
  // the target). Without this, a link was rewrapped through when the header fit and replaced by
  // a regular file when it grew, leaving the target with the old keys.
  const source = await realTarget(path, true);
  const output = await realTarget(options.output ?? path, false);
  const file = await getBackend(options.backend).open(source);
  try {
    const result = await rewrapOpened(source, output, file, options);
    return { ...result, output: options.output ?? path };
  } finally {
    await file.close();
  }
}

/** The absolute path `path` names once every symbolic link is followed; a missing OUT stays as given. */
async function realTarget(path: string, mustExist: boolean): Promise<string> {
  try {
    return await realpath(path);
  } catch (cause) {
    if (!mustExist && (cause as NodeJS.ErrnoException).code === "ENOENT") return resolve(path);
    throw new CryptoTensorsError("ERR_IO", `cannot open ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

async function rewrapOpened(
  path: string,
  output: string,
  file: BackendFile,
  options: RewrapOptions,
): Promise<RewrapResult> {
  const { header, region } = await readHeaderRegion(file);
  if (!isEncrypted(header)) {
    throw new CryptoTensorsError(
      "ERR_NOT_ENCRYPTED",
      `${path} is not encrypted: there are no data keys to rewrap`,
    );
  }
  const trust: KeyTrustOptions = {
    ...(options.oldKeys === undefined ? {} : { keys: options.oldKeys }),
    ...(options.verifyKeys === undefined ? {} : { verifyKeys: options.verifyKeys }),
    ...(options.jkuRoots === undefined ? {} : { jkuRoots: options.jkuRoots }),
    ...(options.keyRegistry === undefined ? {} : { keyRegistry: options.keyRegistry }),
  };
  const owned: Array<MasterKey | SigningKey> = [];
  let unlocked: Unlocked | undefined;
  let context: KeyContext | undefined;
  let release = (): void => undefined;
  try {
    const encKey =
      options.newEncKey === undefined ? undefined : asKey(options.newEncKey, "master", owned);
    unlocked = await unlock(header, path, {
      ...trust,
      policyEvaluator: options.policyEvaluator,
      claims: options.claims,
    });
    context = KeyContext.open(trust);
    let signKey: SigningKey;
    if (options.newSignKey !== undefined) {
      signKey = asKey(options.newSignKey, "sign", owned);
    } else {
      const found = await context.signer(unlocked.cryptoKeys.sign);
      signKey = found.key;
      release = found.release;
    }
    const prefix = rewrappedHeader(header, unlocked, {
      signKey,
      ...(encKey ? { encKey } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
    });
    const fitted = padToLength(prefix, header.headerLength);
    const rewrapped = encKey ? unlocked.tensors.size : 0;
    const result = (method: RewrapMethod, headerLength: number): RewrapResult => ({
      output,
      method,
      headerLength,
      previousHeaderLength: header.headerLength,
      rewrapped,
    });
    if (fitted && output === path) {
      // N is unchanged, so the 8-byte prefix stays as it is: only the header region is rewritten.
      await rewriteRegionJournaled(path, 8, region, fitted.subarray(8), signKey);
      return result("in-place", header.headerLength);
    }
    if (fitted) {
      await clonePatched(path, output, fitted);
      return result("clone", header.headerLength);
    }
    await streamWithPrefix(file, path, output, prefix, header.dataStart);
    return result("copy", prefix.length - 8);
  } finally {
    release();
    context?.dispose();
    if (unlocked) wipeUnlocked(unlocked);
    for (const key of owned) key.wipe();
  }
}

function asKey<K extends "master" | "sign">(
  value: unknown,
  kind: K,
  owned: Array<MasterKey | SigningKey>,
): K extends "master" ? MasterKey : SigningKey {
  if (value instanceof HeldKey) {
    // The rewrap journal is signed synchronously with the new key's bytes; re-encryption goes
    // through the writer, which signs and wraps inside the provider.
    throw new NotSupportedError(
      "rewrapFile takes raw keys only; for keys held by a key provider use reencryptFile (fresh data keys, sealed and signed by the provider)",
    );
  }
  const parsed = value instanceof MasterKey || value instanceof SigningKey;
  const key = parseJwk(value, kind === "master" ? "newEncKey" : "newSignKey");
  if (!parsed) owned.push(key);
  if (kind === "master" && !(key instanceof MasterKey)) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      'newEncKey must be a symmetric key (kty "oct" with k)',
    );
  }
  if (kind === "sign" && !(key instanceof SigningKey && key.canSign)) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      'newSignKey must be an Ed25519 private key (kty "okp" with d and x)',
    );
  }
  return key as K extends "master" ? MasterKey : SigningKey;
}
