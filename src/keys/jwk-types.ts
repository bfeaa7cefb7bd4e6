// The shapes of the keys callers pass in: a JSON Web Key (either spelling this package reads, see
// jwk-forms.ts), a set of them, or the parsed key objects. Types only: parsing checks the values.
import type { HeldKey } from "./held-key.js";
import type { MasterKey, SigningKey } from "./jwk.js";

/**
 * A JSON Web Key as this package reads it: the reference's form (`kty` "oct"/"okp", `alg`
 * aes256gcm/aes128gcm/chacha20poly1305/ed25519, standard base64) or the RFC form (`kty` "OKP" with
 * `crv` "Ed25519", JWA `alg` names, base64url).
 *
 * @example
 * ```ts
 * const master: Jwk = { kty: "oct", alg: "aes256gcm", kid: "enc-1", k: "…" };
 * ```
 */
export interface Jwk {
  kty: "oct" | "okp" | "OKP";
  kid?: string;
  alg?: string;
  /** Symmetric key bytes (kty "oct"). */
  k?: string;
  /** "Ed25519" (kty "OKP"/"okp"). */
  crv?: string;
  /** Ed25519 public key. */
  x?: string;
  /** Ed25519 private key. */
  d?: string;
  /** Where the key set lives (`file://…`), written into headers. */
  jku?: string;
  use?: string;
  key_ops?: readonly string[];
}

/**
 * A JWK as a map of strings: what `JSON.parse` of a key file gives once typed, and what
 * generateKeySet returns. Its members are checked when the key is parsed.
 */
export type JwkFields = Readonly<Record<string, string | undefined>>;

/** A JWK (typed, or as a string map) or a key parsed by {@link parseJwk}. */
export type KeyInput = Jwk | JwkFields | MasterKey | SigningKey;

/** A JWK set: `{ keys: [...] }`. */
export interface JwkSet {
  keys: readonly KeyInput[];
}

/** A master key for writing: a JWK (kty "oct"), a parsed key, or a key held by a provider. */
export type MasterKeyInput = Jwk | JwkFields | MasterKey | HeldKey;

/** A signing key for writing: an Ed25519 JWK, a parsed key, or a key held by a provider. */
export type SigningKeyInput = Jwk | JwkFields | SigningKey | HeldKey;
