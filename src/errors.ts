/**
 * Every failure that is not API misuse is a {@link CryptoTensorsError} with a stable string `code`.
 * API misuse (wrong argument types, out-of-range numbers) throws `TypeError`/`RangeError`.
 * Messages say what is wrong and what to do; they never contain key material.
 *
 * @example
 * ```ts
 * try { await openFile("model.safetensors"); }
 * catch (e) { if (e instanceof CryptoTensorsError && e.code === "ERR_HEADER_TOO_LARGE") … }
 * ```
 */
export const ERROR_CODES = {
  // Container (FORMAT.md §1.5), one per reader check.
  ERR_HEADER_TOO_SMALL: "file is shorter than the 8-byte header length prefix",
  ERR_HEADER_TOO_LARGE: "declared header length exceeds the 100,000,000-byte cap",
  ERR_INVALID_HEADER_LENGTH: "declared header length runs past the end of the file",
  ERR_INVALID_HEADER: "header is not valid UTF-8",
  ERR_HEADER_DESERIALIZATION: "header JSON is malformed or has the wrong structure",
  ERR_HEADER_LIMIT:
    "header exceeds a size limit (tensors, metadata entries, shape rank, JSON values; see HEADER_LIMITS)",
  ERR_HEADER_DUPLICATE_KEY: "header JSON repeats a key",
  ERR_INVALID_DTYPE: "tensor dtype is not one of the safetensors dtypes",
  ERR_TENSOR_INVALID_OFFSET: "tensor data offsets are not contiguous from 0",
  ERR_VALIDATION_OVERFLOW: "shape or offsets overflow 64 bits",
  ERR_MISALIGNED_SLICE: "tensor bit size is not a whole number of bytes",
  ERR_TENSOR_INVALID_INFO: "tensor byte length does not match dtype and shape",
  ERR_METADATA_INCOMPLETE_BUFFER:
    "data section length does not match the tensors (gap or trailing bytes)",
  ERR_TENSOR_NOT_FOUND: "no tensor with that name",
  ERR_INVALID_TENSOR: "tensor supplied for writing is inconsistent",
  ERR_FILE_TRUNCATED: "file ended before the expected bytes",
  ERR_IO: "reading or writing the file failed",
  ERR_CLOSED: "the file has been closed",
  ERR_BUSY: "the file has reads in flight",
  ERR_ABORTED: "the operation was aborted",
  ERR_DESTINATION_DETACHED: "the destination buffer was transferred or detached during the read",
  // CryptoTensors (FORMAT.md §2–§4, §7.6).
  ERR_CRYPTO_KEYS_INVALID: "__crypto_keys__ is missing or malformed",
  ERR_MISSING_VERSION: "__crypto_keys__.version is missing or not a string",
  ERR_UNSUPPORTED_VERSION: '__crypto_keys__.version is not "1" or "2"',
  ERR_ENCRYPTION_INVALID: "__encryption__ is malformed",
  ERR_MISSING_SIGNATURE: "__signature__ is missing",
  ERR_SIGNATURE_FORMAT: "__signature__ is not 64 bytes of standard base64",
  ERR_SIGNATURE_INVALID: "header signature does not verify",
  ERR_KEY_NOT_FOUND: "no key matches the header's kid/jku",
  ERR_KEY_INVALID: "a key is malformed or of the wrong type",
  ERR_INVALID_ALGORITHM: "unknown or mismatched algorithm",
  ERR_INVALID_KEY_LENGTH: "key has the wrong length for its algorithm",
  ERR_INVALID_IV_LENGTH: "IV has the wrong length",
  ERR_DECRYPTION_FAILED: "decryption failed (wrong key or data/tag tampered)",
  ERR_COUNTER_OVERFLOW: "chunk IV counter would overflow 32 bits",
  ERR_POLICY_MISSING: "__policy__ is missing or malformed",
  ERR_POLICY_DENIED: "the file's policy denied access",
  ERR_POLICY_UNDEFINED: "the file's policy returned undefined",
  ERR_POLICY_UNSUPPORTED: "the file's policy cannot be evaluated by this engine",
  ERR_POLICY_INVALID: "the policy does not parse",
  ERR_POLICY_EVAL: "the policy raised an evaluation error (conflicting values, step or time limit)",
  ERR_POLICY_SERVER: "the OPA server could not be reached or answered with an error",
  ERR_NOT_ENCRYPTED: "file is not encrypted",
  ERR_NOT_SUPPORTED: "not supported by this implementation",
  ERR_NATIVE_UNAVAILABLE: "the native addon is not available",
  ERR_INTERNAL: "internal error",
  // Key management (issue 4).
  // Fail-closed edges (issue 11).
  ERR_JOURNAL_INVALID:
    "a rewrap journal is not an authentic, complete journal of this file (planted or stale)",
  ERR_TENSOR_UNAUTHENTICATED:
    "a plaintext tensor of an encrypted file is not covered by a signed digest, or does not match it",
  ERR_NOTHING_TO_ENCRYPT: "an encryption request selects no tensor",
  ERR_KEY_UNTRUSTED:
    "a key or key source was refused by the trust settings (jku outside the allowed roots, signer not pinned)",
  // Key managers (issue 17).
  ERR_KEY_PROVIDER:
    "a key manager (HSM, KMS) failed or refused the operation (wrong PIN, unreachable, key not usable)",
  // Sharded models (issue 15).
  ERR_MODEL_INVALID:
    "the model directory or its index (model.safetensors.index.json) is malformed, ambiguous or incomplete",
  ERR_MODEL_BINDING:
    "the shards do not form one signed model (missing, extra, swapped, replayed or mixed shard; index disagreeing)",
  ERR_MODEL_UNBOUND:
    "the shards are signed one by one, not as one model, and requireBoundShards is set",
  // Remote sources (issue 16).
  ERR_REMOTE_HTTP:
    "the HTTP server answered with an unexpected status (not found, forbidden, server error after retries, redirect loop)",
  ERR_REMOTE_NO_RANGES:
    'the HTTP server ignores Range requests; pass remote.withoutRanges: "download" to fetch the whole file',
  ERR_REMOTE_CHANGED:
    "the remote file changed while it was being read (ETag, Last-Modified or size differ from those pinned at open)",
  ERR_REMOTE_PROTOCOL:
    "the HTTP server broke the range protocol (wrong Content-Range, short or long body) or gives no identity to pin",
  ERR_REMOTE_TIMEOUT: "the HTTP server sent nothing for longer than the timeout (after retries)",
  // Licences and key release (issue 18).
  ERR_LICENCE_INVALID:
    "the licence is malformed, not signed by a pinned issuer, or its signature does not verify",
  ERR_LICENCE_EXPIRED: "the licence has expired",
  ERR_LICENCE_NOT_YET_VALID: "the licence is not valid yet (nbf in the future)",
  ERR_LICENCE_AUDIENCE: "the licence is for another model",
  ERR_LICENCE_REVOKED: "the licence has been revoked",
  ERR_KEY_RELEASE_DENIED:
    "the key-release service refused to release the keys (remote policy, rate limit, model not trusted)",
  ERR_KEY_RELEASE_UNREACHABLE:
    "the key-release service could not be reached or did not answer in time (after retries)",
  ERR_KEY_RELEASE_PROTOCOL:
    "the key-release service answered with something that is not a valid release for this request (malformed, replayed, for another model)",
  // Runtime adapters (issue 14).
  ERR_ONNX_MODEL:
    "the ONNX model is malformed, holds an initializer that cannot be mapped, or does not match its weights file",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error this library raises for bad input, keys, policies or I/O. */
export class CryptoTensorsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoTensorsError";
    this.code = code;
  }
}

/** Raised for features that are deliberately not implemented; the message says which. */
export class NotSupportedError extends CryptoTensorsError {
  constructor(message: string) {
    super("ERR_NOT_SUPPORTED", message);
    this.name = "NotSupportedError";
  }
}

/** Shorthand for `new CryptoTensorsError(code, message)`. */
export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new CryptoTensorsError(code, message, cause === undefined ? undefined : { cause });
}
