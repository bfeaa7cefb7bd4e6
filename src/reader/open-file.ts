// The public read API: openFile, loadFile and verifyFile.
import { CryptoTensorsError } from "../errors.js";
import { parseHeader, readHeaderLength } from "../format/header.js";
import type { ParsedHeader } from "../format/types.js";
import type { BackendFile } from "../native/backend.js";
import { getBackend } from "../native/index.js";
import { type ByteSource, isByteSource } from "../source/byte-source.js";
import type { RemoteOptions } from "../source/http-source.js";
import { resolveTarget } from "../source/resolve-target.js";
import type { PolicyEvaluator } from "../policy/index.js";
import type { KeysOption, KeyTrustOptions } from "./key-lookup.js";
import { TensorFile, type Tensor } from "./tensor-file.js";
import { authenticateData, type DataCheck, type DataCheckOptions } from "./verify-data.js";
import { isEncrypted, reservedEntries, unlock, type Unlocked } from "./unlock.js";

export interface OpenOptions extends KeyTrustOptions {
  /** Force the byte backend; default: the native addon, or the TypeScript fallback if it cannot load. */
  backend?: "native" | "fallback";
  /** Refuse plain (unencrypted) files: guards against a substituted or stripped model (FORMAT.md §8.3). */
  requireEncrypted?: boolean;
  /** Refuse files without a header signature, i.e. plain files (`ERR_MISSING_SIGNATURE`; FORMAT.md §8.3). Implied by `verifyKeys`. */
  requireSignature?: boolean;
  /**
   * Refuse an encrypted file whose plaintext tensors (those its writer left unencrypted) are not
   * authenticated by a signed digest (`ERR_TENSOR_UNAUTHENTICATED`): the reference signs only
   * their offsets, so their bytes can be changed without breaking the signature. Files this
   * library writes carry the digests; whenever digests are present they are checked on every
   * read, with or without this option. The CLI's `decrypt` and `verify` set it by default.
   */
  requireAuthenticated?: boolean;
  /** Evaluates the file's local policy; default: the embedded Rego engine. */
  policyEvaluator?: PolicyEvaluator;
  /** Caller-supplied claims made available to the policy as `input.claims` (not with `licence`). */
  claims?: Record<string, unknown>;
  /**
   * A licence token (JWT, see `issueLicence`): verified against `licenceIssuers` (signature,
   * expiry, not-before, audience = this model's master-key kid or header digest) at open; its
   * claims become the local policy's `input.claims`. A bad licence fails the open with
   * `ERR_LICENCE_INVALID`/`_EXPIRED`/`_NOT_YET_VALID`/`_AUDIENCE`.
   */
  licence?: string;
  /** The licence issuer's pinned public key(s): a JWK set, a JWK or a KeyRing. */
  licenceIssuers?: KeysOption;
  /**
   * The tensors this handle will read: the policy sees exactly these as `input.tensors` (e.g. a
   * licence tier allowing a subset), and the handle refuses every other tensor; only their
   * data keys are unwrapped. Default: all. An empty list is a RangeError (it would ask for
   * nothing while a policy over `input.tensors` would see a vacuous request).
   */
  tensors?: readonly string[];
  /** How an http(s) URL target is fetched: headers (authorization), timeouts, retries, connections. */
  remote?: RemoteOptions;
}

export interface LoadOptions extends OpenOptions {
  /** Called after each tensor with the bytes done so far. */
  onProgress?: (progress: { tensor: string; bytesDone: number; bytesTotal: number }) => void;
  signal?: AbortSignal;
}

/**
 * Opens a safetensors or CryptoTensors file: a local path, an http(s) URL (read lazily with range
 * requests, see {@link RemoteOptions}), or any {@link ByteSource} (the handle then owns the source
 * and closes it). For an encrypted file the signature is verified, the policy evaluated and the
 * data keys unwrapped before this resolves; for a URL, before any tensor byte is requested.
 *
 * @example
 * ```ts
 * const file = await openFile("model.safetensors", { keys: jwks });
 * const { data } = await file.getTensor("lm_head.weight");
 * await file.close();
 * ```
 */
export async function openFile(
  target: string | URL | ByteSource,
  options: OpenOptions = {},
): Promise<TensorFile> {
  return openResolved(target, options, undefined);
}

async function openResolved(
  target: string | URL | ByteSource,
  options: OpenOptions,
  signal: AbortSignal | undefined,
): Promise<TensorFile> {
  const backend = getBackend(options.backend);
  const resolved = await resolveTarget(checkTarget(target), options.remote, signal);
  const path = targetName(resolved);
  const file = await backend.open(resolved);
  try {
    const { header, region } = await readHeaderRegion(file);
    const requested = requestedTensors(header, path, options.tensors);
    let unlocked: Unlocked | null = null;
    if (isEncrypted(header)) {
      unlocked = await unlock(header, path, {
        ...options,
        headerRegion: region,
        ...(requested === null ? {} : { tensors: requested }),
      });
    } else {
      refuseStrayReservedKeys(header, path);
      // Pinned verification keys say "this file must be signed by one of these": a stripped or
      // substituted plain file must not satisfy that by carrying no signature at all.
      if (options.requireSignature || options.verifyKeys !== undefined) {
        throw new CryptoTensorsError(
          "ERR_MISSING_SIGNATURE",
          `${path} is a plain safetensors file with no signature, but ${options.verifyKeys !== undefined ? "verifyKeys are pinned" : "requireSignature is set"}: refusing a stripped or substituted file`,
        );
      }
      if (options.requireEncrypted) {
        throw new CryptoTensorsError(
          "ERR_NOT_ENCRYPTED",
          `${path} is a plain safetensors file but requireEncrypted is set`,
        );
      }
    }
    return new TensorFile(path, file, header, unlocked, backend.name, requested);
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Loads every tensor of a file into fresh buffers.
 *
 * @example
 * ```ts
 * const tensors = await loadFile("model.safetensors", { keys: jwks });
 * console.log(tensors["bias"].shape);
 * ```
 */
export async function loadFile(
  path: string | URL | ByteSource,
  options: LoadOptions = {},
): Promise<Record<string, Tensor>> {
  const file = await openResolved(path, options, options.signal);
  try {
    // One planned pass over the file: chunks of many tensors decrypt in parallel (readAll).
    return await file.readAll({
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await file.close();
  }
}

export interface VerifyResult {
  encrypted: boolean;
  signatureValid: boolean;
  policyAllowed: boolean;
  /** With `data: true`: every tensor's bytes were authenticated (see {@link VerifyOptions.data}). */
  data?: DataCheck;
}

/** Options of {@link verifyFile}. */
export interface VerifyOptions extends OpenOptions {
  /**
   * Also authenticate every tensor: decrypt each encrypted chunk into a scratch buffer (wiped
   * at once) so its AEAD tag is checked, and hash each plaintext tensor against its signed
   * digest; no plaintext is kept or written. Needs the master key. A plaintext tensor without
   * a digest is refused (`ERR_TENSOR_UNAUTHENTICATED`) unless `requireAuthenticated` is false.
   * Default false: only the header (signature, policy) is checked.
   */
  data?: boolean;
  onProgress?: DataCheckOptions["onProgress"];
  signal?: AbortSignal;
}

/**
 * Checks an encrypted file's signature and policy without unwrapping any data key: only the
 * verification key is needed. Throws the typed error of the first check that fails.
 *
 * @example
 * ```ts
 * await verifyFile("model.safetensors", { keys: { keys: [publicSignKey] } });
 * ```
 */
export async function verifyFile(
  target: string | URL | ByteSource,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (options.data === true) return verifyData(target, options);
  const backend = getBackend(options.backend);
  const resolved = await resolveTarget(checkTarget(target), options.remote);
  const path = targetName(resolved);
  const file = await backend.open(resolved);
  try {
    const { header, region } = await readHeaderRegion(file);
    if (!isEncrypted(header)) {
      refuseStrayReservedKeys(header, path);
      throw new CryptoTensorsError(
        "ERR_NOT_ENCRYPTED",
        `${path} is not encrypted: it carries no signature or policy to verify`,
      );
    }
    await unlock(header, path, { ...options, verifyOnly: true, headerRegion: region });
    return { encrypted: true, signatureValid: true, policyAllowed: true };
  } finally {
    await file.close();
  }
}

async function verifyData(
  target: string | URL | ByteSource,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const { data: _data, onProgress, signal, ...open } = options;
  // Under `data`, unauthenticated plaintext tensors are refused unless explicitly allowed.
  const file = await openFile(target, {
    ...open,
    requireEncrypted: true,
    requireAuthenticated: open.requireAuthenticated ?? true,
  });
  try {
    const data = await authenticateData(file, {
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    return { encrypted: true, signatureValid: true, policyAllowed: true, data };
  } finally {
    await file.close();
  }
}

/** @internal Reads and validates the header through a backend file. */
export async function readHeader(file: BackendFile): Promise<ParsedHeader> {
  return (await readHeaderRegion(file)).header;
}

/**
 * @internal Reads and validates the header through a backend file, and returns its raw bytes too
 * (the `N` bytes after the 8-byte length prefix; rewrap journals them).
 */
export async function readHeaderRegion(
  file: BackendFile,
): Promise<{ header: ParsedHeader; region: Uint8Array }> {
  const prefix = new Uint8Array(Math.min(8, file.size));
  await file.readInto(0, prefix.length, prefix);
  const headerLength = readHeaderLength(prefix, file.size);
  const region = new Uint8Array(headerLength);
  await file.readInto(8, headerLength, region);
  return { header: parseHeader(region, file.size), region };
}

/** A file with some reserved entries but no `__encryption__` has been stripped or forged (FORMAT.md §8.3). */
function refuseStrayReservedKeys(header: ParsedHeader, path: string): void {
  const stray = [...reservedEntries(header).keys()];
  if (stray.length > 0) {
    throw new CryptoTensorsError(
      "ERR_ENCRYPTION_INVALID",
      `${path} carries ${stray.join(", ")} but no __encryption__: the encryption entry was stripped or the file is forged`,
    );
  }
}

function requestedTensors(
  header: ParsedHeader,
  path: string,
  tensors: readonly string[] | undefined,
): string[] | null {
  if (tensors === undefined) return null;
  if (!Array.isArray(tensors) || !tensors.every((n) => typeof n === "string"))
    throw new TypeError("options.tensors must be an array of tensor names");
  if (tensors.length === 0)
    throw new RangeError(
      "options.tensors is empty: name the tensors to read, or omit the option to read them all",
    );
  const present = new Set(header.tensors.map((t) => t.name));
  const missing = tensors.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new CryptoTensorsError(
      "ERR_TENSOR_NOT_FOUND",
      `options.tensors names tensors absent from ${path}: ${missing.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }
  return [...new Set(tensors)];
}

/** API misuse is refused before anything is opened. */
function checkTarget(target: unknown): string | URL | ByteSource {
  if (target instanceof URL || isByteSource(target)) return target;
  targetName(target);
  return target as string;
}

/** The name messages use: the path, or a source's identity name. */
function targetName(target: unknown): string {
  if (isByteSource(target)) return target.identity.name;
  if (typeof target !== "string" || target.length === 0)
    throw new TypeError("path must be a non-empty string");
  return target;
}
