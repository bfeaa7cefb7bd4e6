// A key provider on a PKCS#11 token (an HSM, SoftHSM2): data keys are unwrapped and wrapped with
// CKM_AES_GCM and headers signed with CKM_EDDSA inside the token; master and signing keys never
// leave it. Keys are found by label (CKA_LABEL = the header's kid). Keys the token would let out
// (CKA_EXTRACTABLE true or CKA_SENSITIVE false) are refused unless the caller opts in.
import { randomBytes } from "node:crypto";
import { CryptoTensorsError, NotSupportedError } from "../../errors.js";
import { IV_LENGTH, keyLength, parseAlgorithm, TAG_LENGTH } from "../../crypto/algorithms.js";
import { encodeBase64 } from "../../crypto/base64.js";
import type { WrappedDataKey } from "../../crypto/envelope.js";
import { quoteShort } from "../../crypto/quote.js";
import type { DataKeyRequest, KeyProvider, KeyRequest } from "../provider.js";
import { CKM_CHACHA20_POLY1305, CKM_EDDSA, type Handle, Pkcs11Token } from "./token.js";
import { parsePkcs11Uri, type Pkcs11Uri } from "./uri.js";

/** Options of {@link Pkcs11KeyProvider}. */
export interface Pkcs11ProviderOptions {
  /** Registry name (default `pkcs11:token=…`, the URI without its PIN). */
  name?: string;
  /** Lookup priority (default 50, as the reference's native plugins). */
  priority?: number;
  /** Use keys the token marks extractable or not sensitive (default false: refused). */
  allowExtractable?: boolean;
}

/**
 * Keys kept in a PKCS#11 token. With `object=` in the URI the provider serves that one label;
 * without, any kid (looked up as a label).
 *
 * @example
 * ```ts
 * const hsm = new Pkcs11KeyProvider(
 *   "pkcs11:token=models?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/secrets/pin",
 * );
 * registerKeyProvider(hsm);
 * const file = await openFile("model.ct"); // data keys unwrapped by the token, in one batch
 * ```
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly name: string;
  readonly priority: number;
  readonly token: Pkcs11Token;
  readonly #allowExtractable: boolean;

  constructor(uri: string | Pkcs11Uri, options: Pkcs11ProviderOptions = {}) {
    const parsed = typeof uri === "string" ? parsePkcs11Uri(uri) : uri;
    this.token = new Pkcs11Token(parsed);
    this.name = options.name ?? this.token.label;
    this.priority = options.priority ?? 50;
    this.#allowExtractable = options.allowExtractable ?? false;
  }

  matches(request: KeyRequest): boolean {
    const object = this.token.uri.object;
    return object === undefined ? request.kid !== undefined : request.kid === object;
  }

  async unwrapDataKeys(
    request: DataKeyRequest,
    wrapped: readonly WrappedDataKey[],
  ): Promise<Buffer[] | undefined> {
    const algorithm = this.#aesOnly(request.alg);
    const key = this.#secretKey(request, algorithm);
    if (key === undefined) return undefined;
    const { p, session, c } = this.token.session(true);
    const keys: Buffer[] = [];
    try {
      for (const entry of wrapped) {
        if (entry.keyIv.length !== IV_LENGTH) {
          throw new CryptoTensorsError(
            "ERR_INVALID_IV_LENGTH",
            `a key_iv is not ${IV_LENGTH} bytes`,
          );
        }
        const input = Buffer.concat([entry.wrappedKey, entry.keyTag]);
        const out = Buffer.alloc(input.length);
        const dataKey = this.token.call(
          "C_Decrypt",
          () => {
            p.C_DecryptInit(session, gcm(c, entry.keyIv), key);
            return p.C_Decrypt(session, input, out) as Buffer;
          },
          // SoftHSM 2.6 reports a failed GCM tag as CKR_GENERAL_ERROR, others as
          // CKR_ENCRYPTED_DATA_INVALID; with a key found and usable both mean "not this key".
          (ckr) =>
            ckr === "CKR_ENCRYPTED_DATA_INVALID" ||
            ckr === "CKR_ENCRYPTED_DATA_LEN_RANGE" ||
            ckr === "CKR_GENERAL_ERROR"
              ? new CryptoTensorsError(
                  "ERR_DECRYPTION_FAILED",
                  `the token's key ${quoteShort(request.kid ?? "")} does not unwrap this file's data keys (${ckr}): wrong key or tampered __encryption__`,
                )
              : undefined,
        );
        if (dataKey.length !== keyLength(algorithm)) {
          out.fill(0);
          throw new CryptoTensorsError(
            "ERR_INVALID_KEY_LENGTH",
            `an unwrapped ${algorithm} data key is ${dataKey.length} bytes instead of ${keyLength(algorithm)}`,
          );
        }
        // A copy of exactly the key, and the scratch wiped.
        keys.push(Buffer.from(dataKey));
        out.fill(0);
      }
    } catch (error) {
      for (const k of keys) k.fill(0);
      throw error;
    }
    return keys;
  }

  async wrapDataKeys(
    request: DataKeyRequest,
    dataKeys: readonly Uint8Array[],
  ): Promise<WrappedDataKey[] | undefined> {
    const algorithm = this.#aesOnly(request.alg);
    const key = this.#secretKey(request, algorithm);
    if (key === undefined) return undefined;
    const { p, session, c } = this.token.session(true);
    return dataKeys.map((dataKey) => {
      const keyIv = randomBytes(IV_LENGTH);
      const out = this.token.call("C_Encrypt", () => {
        p.C_EncryptInit(session, gcm(c, keyIv), key);
        return p.C_Encrypt(
          session,
          Buffer.from(dataKey),
          Buffer.alloc(dataKey.length + TAG_LENGTH),
        ) as Buffer;
      });
      const cut = out.length - TAG_LENGTH;
      return {
        wrappedKey: Buffer.from(out.subarray(0, cut)),
        keyIv,
        keyTag: Buffer.from(out.subarray(cut)),
      };
    });
  }

  async sign(request: KeyRequest, payload: Uint8Array): Promise<Uint8Array | undefined> {
    if (request.kid === undefined) return undefined;
    const key = this.token.findKey("private", request.kid);
    if (key === undefined) return undefined;
    this.#checkKept(key, request.kid);
    const { p, session } = this.token.session(true);
    return this.token.call("C_Sign", () => {
      p.C_SignInit(session, { mechanism: CKM_EDDSA }, key);
      return Buffer.from(p.C_Sign(session, Buffer.from(payload), Buffer.alloc(64)) as Buffer);
    });
  }

  /** The public Ed25519 key of the token's key pair labelled kid, as a JWK (x only). */
  async getVerifyKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    if (request.kid === undefined) return undefined;
    const key = this.token.findKey("public", request.kid);
    if (key === undefined) return undefined;
    const { c } = this.token.session(false);
    const [point] = this.token.attributes(key, [c.CKA_EC_POINT]);
    return {
      kty: "okp",
      alg: "ed25519",
      kid: request.kid,
      x: encodeBase64(ed25519Point(point?.value, this.token.label)),
    };
  }

  /** Logs out and releases the token. */
  close(): void {
    this.token.close();
  }

  #aesOnly(alg: string) {
    const algorithm = parseAlgorithm(alg);
    if (algorithm === "chacha20poly1305") {
      const has = this.token.mechanisms().includes(CKM_CHACHA20_POLY1305);
      throw new NotSupportedError(
        has
          ? `${this.token.label} has CKM_CHACHA20_POLY1305, but this provider only unwraps and wraps with AES-GCM: use an aes256gcm master key in the token`
          : `${this.token.label} has no ChaCha20-Poly1305 mechanism (CKM_CHACHA20_POLY1305): files encrypted with chacha20poly1305 cannot use this token's keys; use aes256gcm`,
      );
    }
    return algorithm;
  }

  #secretKey(request: KeyRequest, algorithm: "aes128gcm" | "aes256gcm"): Handle | undefined {
    if (request.kid === undefined) return undefined;
    const key = this.token.findKey("secret", request.kid);
    if (key === undefined) return undefined;
    const { c } = this.token.session(true);
    const [length] = this.token.attributes(key, [c.CKA_VALUE_LEN]);
    const bytes = length?.value.readUIntLE(0, Math.min(6, length.value.length));
    if (bytes !== keyLength(algorithm)) {
      throw new CryptoTensorsError(
        "ERR_INVALID_KEY_LENGTH",
        `the token's key ${quoteShort(request.kid)} is ${bytes} bytes; ${algorithm} needs ${keyLength(algorithm)}`,
      );
    }
    this.#checkKept(key, request.kid);
    return key;
  }

  /** Refuses a key the token would hand out, unless allowed. */
  #checkKept(key: Handle, kid: string): void {
    if (this.#allowExtractable) return;
    const { c } = this.token.session(true);
    const [sensitive, extractable] = this.token.attributes(key, [
      c.CKA_SENSITIVE,
      c.CKA_EXTRACTABLE,
    ]);
    if (sensitive?.value[0] !== 1 || extractable?.value[0] !== 0) {
      throw new CryptoTensorsError(
        "ERR_KEY_UNTRUSTED",
        `the token's key ${quoteShort(kid)} can leave the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true): recreate it as sensitive and non-extractable, or pass allowExtractable`,
      );
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: pkcs11js constants
function gcm(c: any, iv: Buffer) {
  return {
    mechanism: c.CKM_AES_GCM,
    parameter: { type: c.CK_PARAMS_AES_GCM, iv, ivBits: IV_LENGTH * 8, tagBits: TAG_LENGTH * 8 },
  };
}

/** CKA_EC_POINT of an Ed25519 key: the 32 bytes, bare or in a DER OCTET STRING (04 20 …). */
function ed25519Point(value: Buffer | undefined, label: string): Buffer {
  if (value?.length === 32) return value;
  if (value?.length === 34 && value[0] === 0x04 && value[1] === 0x20) return value.subarray(2);
  throw new CryptoTensorsError(
    "ERR_KEY_INVALID",
    `${label}: the public key's CKA_EC_POINT is not an Ed25519 point`,
  );
}
