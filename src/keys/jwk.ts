// Keys in the reference's JWK-like form (FORMAT.md §5.1): `kty` "oct" (master key, `k`) or "okp"
// (Ed25519, `x` public, `d` seed), `alg`, `kid`, `jku`; key bytes in standard base64. RFC 7517
// spellings are read too (jwk-forms.ts); we always write the reference's. Key objects
// hold their bytes in Buffers that never show up in util.inspect, JSON.stringify or errors.
import { inspect } from "node:util";
import { CryptoTensorsError } from "../errors.js";
import { isEd25519, keyLength, parseAlgorithm, type AeadAlgorithm } from "../crypto/algorithms.js";
import { encodeBase64 } from "../crypto/base64.js";
import { isWellFormedText } from "../crypto/json-fields.js";
import type { KeyDescriptor } from "../crypto/reserved.js";
import { ED25519_KEY_LENGTH } from "../crypto/signature.js";
import { decodeKeyBytes, jwkAlgorithm, jwkKeyType } from "./jwk-forms.js";
import { derivePublicKey } from "./native-keys.js";

interface KeyLabels {
  alg: string;
  kid?: string;
  jku?: string;
}

function labelsOf(key: KeyLabels): Omit<KeyDescriptor, "kty"> {
  return {
    alg: key.alg,
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...(key.jku === undefined ? {} : { jku: key.jku }),
  };
}

// Shown in place of key bytes by util.inspect.
const REDACTED = { [inspect.custom]: () => "[REDACTED]" };

function wiped(): never {
  throw new TypeError("this key has been wiped; parse or load it again");
}

/**
 * A symmetric master key (`kty` "oct"). `alg` may be `""` (the header's algorithm is then used).
 * The bytes are reachable only through `key`; inspect/JSON output shows `[REDACTED]`.
 *
 * @example
 * ```ts
 * const master = parseJwk({ kty: "oct", alg: "aes256gcm", kid: "enc-1", k: "AAEC…Hh8=" }) as MasterKey;
 * console.log(master); // MasterKey { alg: 'aes256gcm', kid: 'enc-1', key: [REDACTED] }
 * master.wipe();
 * ```
 */
export class MasterKey {
  readonly kind = "master" as const;
  readonly alg: string;
  readonly kid?: string;
  readonly jku?: string;
  #key: Buffer | null;

  constructor(labels: KeyLabels, key: Buffer) {
    this.alg = labels.alg;
    if (labels.kid !== undefined) this.kid = labels.kid;
    if (labels.jku !== undefined) this.jku = labels.jku;
    this.#key = key;
  }

  /** The key bytes (not a copy: do not keep or modify). */
  get key(): Buffer {
    return this.#key ?? wiped();
  }

  /** The header descriptor of this key: kty, alg, kid, jku, never the bytes. */
  descriptor(): KeyDescriptor {
    return { kty: "oct", ...labelsOf(this) };
  }

  /** Zeroes the key bytes; the object is unusable afterwards. */
  wipe(): void {
    this.#key?.fill(0);
    this.#key = null;
  }

  toJSON(): KeyDescriptor {
    return this.descriptor();
  }

  [inspect.custom](): string {
    return `MasterKey ${inspect({ ...labelsOf(this), key: REDACTED })}`;
  }
}

/**
 * An Ed25519 key (`kty` "okp"): `publicKey` (x) always, `privateKey` (d, the 32-byte seed) when
 * it can sign. Inspect/JSON output never shows the bytes.
 *
 * @example
 * ```ts
 * const signer = parseJwk({ kty: "okp", alg: "ed25519", kid: "sign-1", x: "…", d: "…" }) as SigningKey;
 * signer.canSign; // true
 * ```
 */
export class SigningKey {
  readonly kind = "sign" as const;
  readonly alg: string;
  readonly kid?: string;
  readonly jku?: string;
  #publicKey: Buffer | null;
  #privateKey: Buffer | null | undefined;

  constructor(labels: KeyLabels, publicKey: Buffer, privateKey?: Buffer) {
    this.alg = labels.alg;
    if (labels.kid !== undefined) this.kid = labels.kid;
    if (labels.jku !== undefined) this.jku = labels.jku;
    this.#publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** The 32-byte public key x. */
  get publicKey(): Buffer {
    return this.#publicKey ?? wiped();
  }

  /** The 32-byte seed d, or undefined for a verification-only key. */
  get privateKey(): Buffer | undefined {
    if (this.#privateKey === null) wiped();
    return this.#privateKey;
  }

  /** Whether this key holds the private seed. */
  get canSign(): boolean {
    return this.#privateKey instanceof Buffer;
  }

  /** The header descriptor of this key: kty, alg, kid, jku, never the bytes. */
  descriptor(): KeyDescriptor {
    return { kty: "okp", ...labelsOf(this) };
  }

  /** Zeroes both key Buffers; the object is unusable afterwards. */
  wipe(): void {
    this.#publicKey?.fill(0);
    this.#privateKey?.fill(0);
    this.#publicKey = null;
    this.#privateKey = null;
  }

  toJSON(): KeyDescriptor {
    return this.descriptor();
  }

  [inspect.custom](): string {
    const shown = {
      ...labelsOf(this),
      publicKey: REDACTED,
      ...(this.canSign ? { privateKey: REDACTED } : {}),
    };
    return `SigningKey ${inspect(shown)}`;
  }
}

function invalid(where: string, what: string): CryptoTensorsError {
  return new CryptoTensorsError("ERR_KEY_INVALID", `${where}${what}`);
}

function optionalLabel(
  jwk: Record<string, unknown>,
  field: "kid" | "jku",
  where: string,
): string | undefined {
  const value = jwk[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(where, `"${field}" must be a string`);
  if (!isWellFormedText(value))
    throw invalid(where, `"${field}" is not valid Unicode (lone surrogate)`);
  return value;
}

function secretField(
  jwk: Record<string, unknown>,
  field: "k" | "x" | "d",
  where: string,
): Buffer | undefined {
  const value = jwk[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(where, `"${field}" must be a base64 string`);
  return decodeKeyBytes(value, `${where}"${field}"`);
}

/**
 * Parses one JWK, in the reference's form or in RFC 7517 form. Accepted: `kty` "oct", "okp" or
 * RFC 8037's "OKP" (with `crv` "Ed25519"); `alg` in the reference's names (`""` means "use the
 * header's"), JWA names (A128GCM, A256GCM, C20P, EdDSA) or absent (→ "" for oct, "ed25519" for
 * okp); `k`/`x`/`d` in padded standard base64 or unpadded base64url. Errors are `ERR_KEY_INVALID`
 * and name the field that is wrong, never its value: not an object; another `kty`/`crv`; an
 * unknown `alg`; `kid`/`jku` not strings; bad base64 or a wrong length; an oct key without `k`;
 * an okp key without `x` (never derived from `d`); `x` that does not match `d`. Other members
 * are ignored. A `MasterKey`/`SigningKey` passed in is returned as is.
 *
 * @example
 * ```ts
 * const key = parseJwk(JSON.parse(text));
 * if (key.kind === "master") useMaster(key.key);
 * parseJwk({ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }); // a verify key
 * ```
 */
export function parseJwk(value: unknown, where = ""): MasterKey | SigningKey {
  if (value instanceof MasterKey || value instanceof SigningKey) return value;
  const prefix = where === "" ? "JWK " : `${where}: JWK `;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw invalid(prefix, "must be a JSON object");
  const jwk = value as Record<string, unknown>;
  const kty = jwkKeyType(jwk, prefix);
  const alg = jwkAlgorithm(jwk, kty, prefix);
  if (!isWellFormedText(alg)) throw invalid(prefix, `"alg" is not valid Unicode (lone surrogate)`);
  const kid = optionalLabel(jwk, "kid", prefix);
  const jku = optionalLabel(jwk, "jku", prefix);
  const labels: KeyLabels = {
    alg,
    ...(kid === undefined ? {} : { kid }),
    ...(jku === undefined ? {} : { jku }),
  };
  return kty === "oct" ? parseMaster(jwk, labels, prefix) : parseSigning(jwk, labels, prefix);
}

function parseMaster(jwk: Record<string, unknown>, labels: KeyLabels, prefix: string): MasterKey {
  let algorithm: AeadAlgorithm | undefined;
  if (labels.alg !== "") {
    try {
      algorithm = parseAlgorithm(labels.alg);
    } catch {
      throw invalid(
        prefix,
        `"alg" is not an encryption algorithm (aes128gcm, aes256gcm, chacha20poly1305)`,
      );
    }
  }
  const key = secretField(jwk, "k", prefix);
  if (key === undefined) throw invalid(prefix, `of kty "oct" needs "k"`);
  const lengthOk =
    algorithm === undefined
      ? key.length === 16 || key.length === 32
      : key.length === keyLength(algorithm);
  if (!lengthOk) {
    const need = algorithm === undefined ? "16 or 32" : String(keyLength(algorithm));
    key.fill(0);
    throw invalid(
      prefix,
      `"k" is ${key.length} bytes; ${labels.alg || "an encryption key"} needs ${need}`,
    );
  }
  return new MasterKey(labels, key);
}

function parseSigning(jwk: Record<string, unknown>, labels: KeyLabels, prefix: string): SigningKey {
  if (labels.alg !== "" && !isEd25519(labels.alg))
    throw invalid(prefix, `"alg" of kty "okp" must be "ed25519"`);
  const publicKey = secretField(jwk, "x", prefix);
  if (publicKey === undefined) throw invalid(prefix, `of kty "okp" needs "x" (the public key)`);
  if (publicKey.length !== ED25519_KEY_LENGTH)
    throw invalid(prefix, `"x" is ${publicKey.length} bytes; Ed25519 needs 32`);
  const privateKey = secretField(jwk, "d", prefix);
  if (privateKey !== undefined) {
    if (privateKey.length !== ED25519_KEY_LENGTH) {
      const length = privateKey.length;
      privateKey.fill(0);
      throw invalid(prefix, `"d" is ${length} bytes; Ed25519 needs the 32-byte seed`);
    }
    const derived = derivePublicKey(privateKey);
    if (!derived.equals(publicKey)) {
      privateKey.fill(0);
      throw invalid(prefix, `"x" is not the public key of "d"`);
    }
  }
  return new SigningKey(labels, publicKey, privateKey);
}

/**
 * The reference-form JWK of a key, secrets included (field order kty, alg, kid, jku, k, x, d).
 * Only for writing key files (the CLI's keygen); never log the result.
 *
 * @example
 * ```ts
 * JSON.stringify(toJwk(master)); // '{"kty":"oct","alg":"aes256gcm","kid":"enc-1","k":"…"}'
 * ```
 */
export function toJwk(key: MasterKey | SigningKey): Record<string, string> {
  // The reference's to_jwk field order.
  const ordered: Record<string, string> = {
    kty: key.kind === "master" ? "oct" : "okp",
    alg: key.alg,
  };
  if (key.kid !== undefined) ordered["kid"] = key.kid;
  if (key.jku !== undefined) ordered["jku"] = key.jku;
  if (key instanceof MasterKey) {
    ordered["k"] = encodeBase64(key.key);
  } else {
    ordered["x"] = encodeBase64(key.publicKey);
    if (key.privateKey !== undefined) ordered["d"] = encodeBase64(key.privateKey);
  }
  return ordered;
}
