// `__plaintext_sha256__`: the SHA-256 of every plaintext tensor of a partially encrypted file, in
// the signed `__metadata__`. The reference signs every metadata entry but `__signature__`
// (FORMAT.md §4.1) and keeps unknown entries, so the file stays readable by it, while the
// signature now covers the bytes of the tensors that are not encrypted (the reference signs only
// their offsets). Value: a JSON object, names sorted by UTF-8 bytes, standard base64 digests.
import { createHash } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { decodeBase64, encodeBase64 } from "./base64.js";
import { parseObject } from "./json-fields.js";

/** Metadata key of the plaintext tensor digests. */
export const PLAINTEXT_DIGESTS_KEY = "__plaintext_sha256__";
/** Digest length in bytes (SHA-256). */
export const DIGEST_LENGTH = 32;

/**
 * The `__plaintext_sha256__` text for `digests` (name → 32-byte SHA-256).
 *
 * @example
 * ```ts
 * serializeDigests(new Map([["bias", sha256(biasBytes)]])); // '{"bias":"…="}'
 * ```
 */
export function serializeDigests(digests: ReadonlyMap<string, Uint8Array>): string {
  const names = [...digests.keys()].map((name) => ({ name, bytes: Buffer.from(name, "utf8") }));
  names.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const parts = names.map(({ name }) => {
    const digest = digests.get(name) as Uint8Array;
    if (digest.length !== DIGEST_LENGTH) throw new RangeError("a digest must be 32 bytes");
    return `${JSON.stringify(name)}:"${encodeBase64(digest)}"`;
  });
  return `{${parts.join(",")}}`;
}

/**
 * Parses `__plaintext_sha256__`: an object of tensor name → standard base64 of 32 bytes, naming
 * only plaintext tensors of the header (`plaintext`). Anything else is `ERR_TENSOR_UNAUTHENTICATED`.
 *
 * @example
 * ```ts
 * const digests = parseDigests(text, new Set(["bias"]));
 * ```
 */
export function parseDigests(text: string, plaintext: ReadonlySet<string>): Map<string, Buffer> {
  const root = parseObject(text, "ERR_TENSOR_UNAUTHENTICATED", PLAINTEXT_DIGESTS_KEY);
  const digests = new Map<string, Buffer>();
  for (const [name, value] of root) {
    if (!plaintext.has(name)) {
      throw new CryptoTensorsError(
        "ERR_TENSOR_UNAUTHENTICATED",
        `${PLAINTEXT_DIGESTS_KEY} names a tensor that is not a plaintext tensor of this file; the header is inconsistent`,
      );
    }
    const digest =
      value.type === "string"
        ? decodeBase64(value.value, "ERR_TENSOR_UNAUTHENTICATED", PLAINTEXT_DIGESTS_KEY)
        : null;
    if (digest === null || digest.length !== DIGEST_LENGTH) {
      throw new CryptoTensorsError(
        "ERR_TENSOR_UNAUTHENTICATED",
        `${PLAINTEXT_DIGESTS_KEY} must map tensor names to base64 SHA-256 digests`,
      );
    }
    digests.set(name, digest);
  }
  return digests;
}

/** An incremental SHA-256 of a tensor's plaintext. */
export function tensorHasher(): { update(bytes: Uint8Array): void; digest(): Buffer } {
  const hash = createHash("sha256");
  return {
    update: (bytes) => {
      hash.update(bytes);
    },
    digest: () => hash.digest(),
  };
}

/**
 * Checks `bytes` (a whole plaintext tensor) against its signed digest; a mismatch wipes nothing
 * (the caller owns the buffer) and throws `ERR_TENSOR_UNAUTHENTICATED`.
 *
 * @example
 * ```ts
 * checkDigest("bias", data, digests.get("bias")!);
 * ```
 */
export function checkDigest(name: string, bytes: Uint8Array, expected: Uint8Array): void {
  const actual = createHash("sha256").update(bytes).digest();
  if (!actual.equals(expected)) {
    throw new CryptoTensorsError(
      "ERR_TENSOR_UNAUTHENTICATED",
      `plaintext tensor ${JSON.stringify(name).slice(0, 200)} does not match its signed SHA-256: the file was modified after it was signed`,
    );
  }
}
