// The key-release protocol (docs/key-release.md), shared by the service and its client: the
// request and response documents, and the sealing of released data keys to the client's
// ephemeral X25519 key. Key agreement X25519 (server key fresh per response), key derivation
// HKDF-SHA256 (salt = the client nonce, info = a label and the request binding), AEAD
// AES-256-GCM with the binding as AAD. The binding is SHA-256 over the model header digest, the
// tensor names, the client nonce and both public keys: a response decrypts only for the request
// it answers, so it cannot be replayed to another request, another client or another model.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { CryptoTensorsError } from "../errors.js";

/** Protocol version carried in every request and response. */
export const RELEASE_VERSION = 1;
/** The path the service answers release requests on. */
export const RELEASE_PATH = "/v1/release";
const LABEL = "cryptotensors key-release v1";
const NONCE_LENGTH = 32;
const X25519_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** What the client sends (JSON). Binary fields are base64url. */
export interface ReleaseRequest {
  v: number;
  /** The licence token (JWT). */
  licence: string;
  /** The N header bytes of the file, base64url. */
  header: string;
  /** The size of the file the header describes. */
  size: number;
  /** The tensors whose data keys are asked for, in the order the keys are returned. */
  tensors: string[];
  /** The client's ephemeral X25519 public key (32 bytes). */
  pub: string;
  /** 32 random bytes, fresh per request. */
  nonce: string;
  /** Free-form description of the client (host, application), shown to the policy as input.client.info. */
  info?: Record<string, unknown>;
}

/** What the service answers on release (JSON). */
export interface ReleaseResponse {
  v: number;
  /** The server's ephemeral X25519 public key. */
  pub: string;
  iv: string;
  /** AES-256-GCM of the concatenated data keys, tag appended. */
  sealed: string;
}

/** What the service answers on refusal. */
export interface ReleaseError {
  error: { code: string; message: string };
}

/** The values both sides bind a response to. */
export interface ReleaseBinding {
  digest: string;
  tensors: readonly string[];
  clientPub: Buffer;
  nonce: Buffer;
  serverPub: Buffer;
}

/** An ephemeral X25519 key pair; `publicKey` is the raw 32 bytes. */
export interface EphemeralKey {
  privateKey: KeyObject;
  publicKey: Buffer;
}

// DER framing of an X25519 private key (PKCS#8) and public key (SPKI) around its 32 raw bytes.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/**
 * A fresh X25519 key pair: 32 random bytes (X25519 clamps any) as the private key, the public key
 * taken from its SPKI DER. Not generateKeyPairSync + a JWK export: on Node 20 a GC during the JWK
 * export of an OKP key, which holds the key's mutex, can run the weak callback of a finished
 * key-generation job that takes the same mutex, and the process deadlocks (seen with 250
 * concurrent opens through a key server in test/release/concurrent-opens.test.ts).
 */
export function ephemeralKey(): EphemeralKey {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, randomBytes(X25519_LENGTH)]);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  if (
    spki.length !== X25519_SPKI_PREFIX.length + X25519_LENGTH ||
    !spki.subarray(0, X25519_SPKI_PREFIX.length).equals(X25519_SPKI_PREFIX)
  ) {
    throw new CryptoTensorsError("ERR_INTERNAL", "unexpected X25519 public key encoding");
  }
  return { privateKey, publicKey: Buffer.from(spki.subarray(X25519_SPKI_PREFIX.length)) };
}

/** A fresh client nonce. */
export function freshNonce(): Buffer {
  return randomBytes(NONCE_LENGTH);
}

function x25519Public(raw: Buffer): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

/** SHA-256 over the binding's fields, each length-prefixed so no two bindings share bytes. */
export function bindingHash(binding: ReleaseBinding): Buffer {
  const hash = createHash("sha256");
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  field(Buffer.from(LABEL));
  field(Buffer.from(binding.digest));
  field(Buffer.from(JSON.stringify(binding.tensors)));
  field(binding.clientPub);
  field(binding.nonce);
  field(binding.serverPub);
  return hash.digest();
}

function sealingKey(shared: Buffer, binding: ReleaseBinding, aad: Buffer): Buffer {
  const info = Buffer.concat([Buffer.from(LABEL), aad]);
  return Buffer.from(hkdfSync("sha256", shared, binding.nonce, info, 32));
}

/**
 * Service side: seals `dataKeys` (concatenated) for the client. The server key is fresh per call
 * and dropped afterwards; the shared secret, the derived key and the plaintext are wiped.
 */
export function sealDataKeys(
  dataKeys: readonly Buffer[],
  request: { digest: string; tensors: readonly string[]; clientPub: Buffer; nonce: Buffer },
): ReleaseResponse {
  const server = ephemeralKey();
  const binding: ReleaseBinding = { ...request, serverPub: server.publicKey };
  const shared = diffieHellman({
    privateKey: server.privateKey,
    publicKey: x25519Public(request.clientPub),
  });
  const aad = bindingHash(binding);
  const key = sealingKey(shared, binding, aad);
  shared.fill(0);
  const plaintext = Buffer.concat(dataKeys);
  try {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(aad);
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      v: RELEASE_VERSION,
      pub: server.publicKey.toString("base64url"),
      iv: iv.toString("base64url"),
      sealed: sealed.toString("base64url"),
    };
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
}

function protocolError(message: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_KEY_RELEASE_PROTOCOL",
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** Standard or url-safe base64 of exactly `length` bytes (any length when undefined). */
export function decodeField(value: unknown, name: string, length?: number): Buffer {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value))
    throw protocolError(`${name} is not base64url`);
  const bytes = Buffer.from(value, "base64url");
  if (length !== undefined && bytes.length !== length)
    throw protocolError(`${name} must be ${length} bytes`);
  return bytes;
}

/**
 * Client side: opens a response to the request it made. Anything that does not decrypt under
 * this request's binding (a replayed response, one for another model or tensor list, a forged
 * one) is `ERR_KEY_RELEASE_PROTOCOL`. Returns one Buffer of `keyLength` bytes per tensor.
 */
export function openDataKeys(
  response: unknown,
  request: {
    digest: string;
    tensors: readonly string[];
    client: EphemeralKey;
    nonce: Buffer;
    keyLength: number;
  },
): Buffer[] {
  const r = response as Partial<ReleaseResponse> | null;
  if (r === null || typeof r !== "object" || r.v !== RELEASE_VERSION)
    throw protocolError(`the key server's answer is not a version ${RELEASE_VERSION} release`);
  const serverPub = decodeField(r.pub, "pub", X25519_LENGTH);
  const iv = decodeField(r.iv, "iv", IV_LENGTH);
  const sealed = decodeField(r.sealed, "sealed");
  const expected = request.keyLength * request.tensors.length + TAG_LENGTH;
  if (sealed.length !== expected)
    throw protocolError(`the release holds ${sealed.length} bytes; ${expected} were expected`);
  const binding: ReleaseBinding = {
    digest: request.digest,
    tensors: request.tensors,
    clientPub: request.client.publicKey,
    nonce: request.nonce,
    serverPub,
  };
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: request.client.privateKey,
      publicKey: x25519Public(serverPub),
    });
  } catch (error) {
    throw protocolError("the key server's public key is not a usable X25519 key", error);
  }
  const aad = bindingHash(binding);
  const key = sealingKey(shared, binding, aad);
  shared.fill(0);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    plaintext = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH)),
      decipher.final(),
    ]);
  } catch (error) {
    throw protocolError(
      "the key server's answer does not decrypt for this request: it was replayed, made for another model or tensor list, or altered in transit",
      error,
    );
  } finally {
    key.fill(0);
  }
  const keys = request.tensors.map((_, i) => {
    const out = Buffer.alloc(request.keyLength);
    plaintext.copy(out, 0, i * request.keyLength, (i + 1) * request.keyLength);
    return out;
  });
  plaintext.fill(0);
  return keys;
}
