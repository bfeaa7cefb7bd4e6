// The Ed25519 header signature (FORMAT.md §4): the canonical signed bytes, signing and verifying.
// Ed25519 is pure RFC 8032 (no prehash): `d` is the 32-byte seed, `x` the 32-byte public key.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { decodeBase64, encodeBase64, isStrictBase64 } from "./base64.js";
import { jsonText } from "./json-fields.js";
import { SIGNATURE_KEY } from "./reserved.js";

/** Length in bytes of an Ed25519 seed (`d`) and of a public key (`x`). */
export const ED25519_KEY_LENGTH = 32;
/** Length in bytes of an Ed25519 signature (88 base64 characters). */
export const ED25519_SIGNATURE_LENGTH = 64;

// DER wrappers of a raw Ed25519 key (RFC 8410): PKCS#8 for the seed, SPKI for the public key.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** One tensor as signed: the caller passes them in (begin, end, header index) order (§4.1, §4.4). */
export interface SignedTensor {
  name: string;
  dtype: string;
  shape: ReadonlyArray<number | bigint>;
  dataOffsets: readonly [number | bigint, number | bigint];
}

function decimal(value: number | bigint, what: string, of?: string): string {
  // Safe non-negative integers (every value of a parsed header) take the first branch; the
  // message is built only for a value that is refused.
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return checkedDecimal(value, of === undefined ? what : `${what} of ${of}`);
}

function checkedDecimal(value: number | bigint, what: string): string {
  if (typeof value === "bigint") {
    if (value < 0n) throw new RangeError(`${what} must not be negative`);
    return value.toString();
  }
  // Beyond 2^53 a number is no longer exact; such values must be passed as bigint.
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative safe integer or a bigint`);
  return String(value);
}

/**
 * The exact bytes that are signed (§4.1): `{"__metadata__":{M},T}` with `M` every metadata entry
 * except `__signature__`, sorted by UTF-8 key bytes, and `T` every tensor in the given order as
 * `"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]}`; no whitespace. Strings are escaped as
 * serde_json does, which `JSON.stringify` of a string matches.
 *
 * @example
 * ```ts
 * signaturePayload([["format", "pt"]], [{ name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4] }]).toString();
 * // '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
 * ```
 */
export function signaturePayload(
  metadata: ReadonlyArray<readonly [string, string]>,
  tensors: ReadonlyArray<SignedTensor>,
): Buffer {
  // One string built by appending (V8 keeps it as a rope until Buffer.from flattens it once), no
  // per-entry arrays or closures: a model's open builds this over 310 tensors and a 72 KB
  // `__encryption__` value (issue 13).
  const entries: Array<{ key: string; text: string }> = [];
  let byCodeUnits = true;
  for (let i = 0; i < metadata.length; i++) {
    const [key, value] = metadata[i] as readonly [string, string];
    if (key === SIGNATURE_KEY) continue;
    if (ABOVE_SURROGATES_START.test(key)) byCodeUnits = false;
    entries.push({
      key,
      text: `${jsonText(key, "metadata key")}:${jsonText(value, "metadata value")}`,
    });
  }
  // Sorted by the raw key's UTF-8 bytes (serde_json's BTreeMap order), not by the escaped text.
  // Below U+D800 the order of UTF-16 code units is that of the UTF-8 bytes; other keys compare
  // as bytes.
  entries.sort(byCodeUnits ? compareCodeUnits : compareUtf8);
  let out = '{"__metadata__":{';
  for (let i = 0; i < entries.length; i++)
    out += (i === 0 ? "" : ",") + (entries[i] as { text: string }).text;
  out += "}";
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i] as SignedTensor;
    let shape = "";
    for (let d = 0; d < t.shape.length; d++)
      shape += (d === 0 ? "" : ",") + decimal(t.shape[d] as number | bigint, "shape", t.name);
    out +=
      `,${jsonText(t.name, "tensor name")}:{"dtype":${jsonText(t.dtype, "dtype")},"shape":[${shape}],` +
      `"data_offsets":[${decimal(t.dataOffsets[0], "data offset")},${decimal(t.dataOffsets[1], "data offset")}]}`;
  }
  return Buffer.from(`${out}}`, "utf8");
}

/** A code unit from the surrogates up: such keys are ordered by their UTF-8 bytes. */
const ABOVE_SURROGATES_START = /[\ud800-\uffff]/;

function compareCodeUnits(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function compareUtf8(a: { key: string }, b: { key: string }): number {
  return Buffer.compare(Buffer.from(a.key, "utf8"), Buffer.from(b.key, "utf8"));
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `an Ed25519 private key (d) is ${ED25519_KEY_LENGTH} bytes`,
    );
  }
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

/** Key objects of the last few verification keys, by their bytes (public data, immutable). */
const publicKeyObjects = new Map<string, KeyObject>();
/** A process verifies under a handful of publishers' keys; more are rebuilt as needed. */
const PUBLIC_KEY_OBJECTS = 16;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `an Ed25519 public key (x) is ${ED25519_KEY_LENGTH} bytes`,
    );
  }
  // A key object per verification cost more than the check itself on a model's open (issue 13).
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, ED25519_KEY_LENGTH).toString(
    "base64",
  );
  let key = publicKeyObjects.get(id);
  if (key !== undefined) {
    publicKeyObjects.delete(id); // most recently used last
  } else {
    key = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, publicKey]),
      format: "der",
      type: "spki",
    });
    if (publicKeyObjects.size >= PUBLIC_KEY_OBJECTS) {
      const oldest = publicKeyObjects.keys().next().value;
      if (oldest !== undefined) publicKeyObjects.delete(oldest);
    }
  }
  publicKeyObjects.set(id, key);
  return key;
}

/**
 * The 32-byte Ed25519 public key `x` of a 32-byte seed `d`.
 *
 * @example
 * ```ts
 * ed25519PublicKey(seed).toString("base64"); // the JWK's x
 * ```
 */
export function ed25519PublicKey(seed: Uint8Array): Buffer {
  const spki = createPublicKey(privateKeyFromSeed(seed)).export({ format: "der", type: "spki" });
  return Buffer.from(spki.subarray(SPKI_PREFIX.length));
}

/**
 * Signs `payload` with the Ed25519 seed and returns the standard base64 signature (88 chars), the
 * value of `__signature__`.
 *
 * @example
 * ```ts
 * const signature = signPayload(signaturePayload(metadata, tensors), signingKey.privateKey);
 * ```
 */
export function signPayload(payload: Uint8Array, seed: Uint8Array): string {
  return encodeBase64(sign(null, payload, privateKeyFromSeed(seed)));
}

/**
 * Verifies a `__signature__` over `payload`. Not strict standard base64, or not 64 bytes, throws
 * `ERR_SIGNATURE_FORMAT`; a signature that does not verify throws `ERR_SIGNATURE_INVALID`.
 *
 * @example
 * ```ts
 * verifyPayload(signaturePayload(metadata, tensors), metadataMap.get("__signature__")!, verifyKey.publicKey);
 * ```
 */
export function verifyPayload(
  payload: Uint8Array,
  signatureB64: string,
  publicKey: Uint8Array,
): void {
  if (typeof signatureB64 !== "string" || !isStrictBase64(signatureB64)) {
    throw new CryptoTensorsError(
      "ERR_SIGNATURE_FORMAT",
      `${SIGNATURE_KEY} is not valid standard base64`,
    );
  }
  const signature = decodeBase64(signatureB64, "ERR_SIGNATURE_FORMAT", SIGNATURE_KEY);
  if (signature.length !== ED25519_SIGNATURE_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_SIGNATURE_FORMAT",
      `${SIGNATURE_KEY} holds ${signature.length} bytes; an Ed25519 signature is ${ED25519_SIGNATURE_LENGTH}`,
    );
  }
  let valid = false;
  try {
    valid = verify(null, payload, publicKeyObject(publicKey), signature);
  } catch (error) {
    // A public key OpenSSL cannot use verifies nothing; the length was checked above.
    if (error instanceof CryptoTensorsError) throw error;
    valid = false;
  }
  if (!valid) {
    throw new CryptoTensorsError(
      "ERR_SIGNATURE_INVALID",
      "header signature does not verify: the file was modified or the verification key is wrong",
    );
  }
}
