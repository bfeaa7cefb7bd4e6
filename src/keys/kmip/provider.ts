// A key provider on a KMIP 1.4 server (mutual TLS): the master key is a symmetric key object named
// by the header's kid (KMIP Name attribute); data keys are unwrapped with KMIP Decrypt in GCM mode
// with the tag, and wrapped with Encrypt, all of one open in one request message. The key never
// leaves the server. Signing stays with another key (KMIP servers rarely do Ed25519).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { CryptoTensorsError, NotSupportedError } from "../../errors.js";
import { IV_LENGTH, keyLength, parseAlgorithm, TAG_LENGTH } from "../../crypto/algorithms.js";
import type { WrappedDataKey } from "../../crypto/envelope.js";
import { quoteShort } from "../../crypto/quote.js";
import type { DataKeyRequest, KeyProvider, KeyRequest } from "../provider.js";
import {
  type BatchResult,
  kmipRequest,
  type KmipConnection,
  OPERATION,
  REASON,
  TAG,
} from "./client.js";
import { child, children, type Ttlv, ttlv } from "./ttlv.js";

/** Options of {@link KmipKeyProvider}: the server and the client's TLS identity (file paths). */
export interface KmipProviderOptions {
  host: string;
  port?: number;
  /** Client certificate (PEM file). */
  cert: string;
  /** Client private key (PEM file). */
  key: string;
  /** CA that signed the server certificate (PEM file). */
  ca: string;
  name?: string;
  priority?: number;
  timeoutMs?: number;
}

const AES = 0x03;
const GCM = 0x09;
const SYMMETRIC_KEY = 0x02;
const USAGE_ENCRYPT_DECRYPT = 0x04 | 0x08;

/**
 * Parses `kmip://host:port?cert=PATH&key=PATH&ca=PATH` (port default 5696).
 *
 * @example
 * ```ts
 * parseKmipUri("kmip://127.0.0.1:5696?cert=/etc/ct/client.pem&key=/etc/ct/client.key&ca=/etc/ct/ca.pem");
 * ```
 */
export function parseKmipUri(text: string): KmipProviderOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError("a KMIP URI looks like kmip://host:port?cert=…&key=…&ca=…");
  }
  if (url.protocol !== "kmip:") throw new TypeError("a KMIP URI starts with kmip://");
  const known = new Set(["cert", "key", "ca"]);
  for (const name of url.searchParams.keys())
    if (!known.has(name))
      throw new TypeError(
        `KMIP URI parameter ${quoteShort(name)} is not supported (cert, key, ca)`,
      );
  const get = (name: string) => {
    const value = url.searchParams.get(name);
    if (!value) throw new TypeError(`the KMIP URI needs ${name}=PATH (mutual TLS)`);
    return value;
  };
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? 5696 : Number(url.port),
    cert: get("cert"),
    key: get("key"),
    ca: get("ca"),
  };
}

/**
 * Master keys kept by a KMIP server.
 *
 * @example
 * ```ts
 * const kms = new KmipKeyProvider(parseKmipUri("kmip://127.0.0.1:5696?cert=c.pem&key=c.key&ca=ca.pem"));
 * await kms.createMasterKey("enc-1");
 * await saveFile("m.ct", tensors, { encryption: { encKey: HeldKey.master(kms, { kid: "enc-1", alg: "aes256gcm" }), signKey } });
 * ```
 */
export class KmipKeyProvider implements KeyProvider {
  readonly name: string;
  readonly priority: number;
  readonly #options: KmipProviderOptions;
  #conn: KmipConnection | undefined;

  constructor(
    options: KmipProviderOptions | string,
    overrides: Pick<KmipProviderOptions, "name" | "priority" | "timeoutMs"> = {},
  ) {
    this.#options = {
      ...(typeof options === "string" ? parseKmipUri(options) : options),
      ...overrides,
    };
    this.name = this.#options.name ?? `kmip://${this.#options.host}:${this.#options.port ?? 5696}`;
    this.priority = this.#options.priority ?? 50;
  }

  matches(request: KeyRequest): boolean {
    return request.kid !== undefined;
  }

  async unwrapDataKeys(
    request: DataKeyRequest,
    wrapped: readonly WrappedDataKey[],
  ): Promise<Buffer[] | undefined> {
    const algorithm = aesOnly(request.alg);
    const uid = await this.#locate(request.kid);
    if (uid === undefined) return undefined;
    const results = await kmipRequest(
      this.#connection(),
      wrapped.map((entry) => ({
        operation: OPERATION.decrypt,
        payload: [
          ttlv.text(TAG.uniqueIdentifier, uid),
          gcmParameters(),
          ttlv.bytes(TAG.data, entry.wrappedKey),
          ttlv.bytes(TAG.ivCounterNonce, entry.keyIv),
          ttlv.bytes(TAG.authenticatedEncryptionTag, entry.keyTag),
        ],
      })),
    );
    const keys: Buffer[] = [];
    try {
      for (const result of results) {
        const data = this.#payload(result, request.kid as string, TAG.data);
        if (data.length !== keyLength(algorithm)) {
          data.fill(0);
          throw new CryptoTensorsError(
            "ERR_INVALID_KEY_LENGTH",
            `an unwrapped ${algorithm} data key is ${data.length} bytes instead of ${keyLength(algorithm)}`,
          );
        }
        keys.push(data);
      }
    } catch (error) {
      for (const key of keys) key.fill(0);
      throw error;
    }
    return keys;
  }

  async wrapDataKeys(
    request: DataKeyRequest,
    dataKeys: readonly Uint8Array[],
  ): Promise<WrappedDataKey[] | undefined> {
    aesOnly(request.alg);
    const uid = await this.#locate(request.kid);
    if (uid === undefined) return undefined;
    const ivs = dataKeys.map(() => randomBytes(IV_LENGTH));
    const results = await kmipRequest(
      this.#connection(),
      dataKeys.map((dataKey, i) => ({
        operation: OPERATION.encrypt,
        payload: [
          ttlv.text(TAG.uniqueIdentifier, uid),
          gcmParameters(),
          ttlv.bytes(TAG.data, Buffer.from(dataKey)),
          ttlv.bytes(TAG.ivCounterNonce, ivs[i] as Buffer),
        ],
      })),
    );
    return results.map((result, i) => {
      const wrappedKey = this.#payload(result, request.kid as string, TAG.data);
      const keyTag = this.#payload(result, request.kid as string, TAG.authenticatedEncryptionTag);
      if (keyTag.length !== TAG_LENGTH)
        throw new CryptoTensorsError(
          "ERR_KEY_PROVIDER",
          "the KMIP server returned a GCM tag of the wrong length",
        );
      return { wrappedKey, keyIv: ivs[i] as Buffer, keyTag };
    });
  }

  /**
   * Creates and activates an AES-256 key named `kid` on the server (usage: encrypt, decrypt);
   * a name already in use is refused.
   */
  async createMasterKey(kid: string): Promise<string> {
    if ((await this.#locate(kid)) !== undefined) {
      throw new CryptoTensorsError(
        "ERR_KEY_INVALID",
        `the KMIP server already holds a key named ${quoteShort(kid)}`,
      );
    }
    const attribute = (name: string, value: Ttlv) =>
      ttlv.struct(TAG.attribute, [
        ttlv.text(TAG.attributeName, name),
        { ...value, tag: TAG.attributeValue },
      ]);
    const [created] = await kmipRequest(this.#connection(), [
      {
        operation: OPERATION.create,
        payload: [
          ttlv.enum(TAG.objectType, SYMMETRIC_KEY),
          ttlv.struct(TAG.templateAttribute, [
            attribute("Cryptographic Algorithm", ttlv.enum(0, AES)),
            attribute("Cryptographic Length", ttlv.int(0, 256)),
            attribute("Cryptographic Usage Mask", ttlv.int(0, USAGE_ENCRYPT_DECRYPT)),
            attribute("Name", nameValue(kid)),
          ]),
        ],
      },
    ]);
    const uid = this.#payload(created as BatchResult, kid, TAG.uniqueIdentifier, "text");
    const [activated] = await kmipRequest(this.#connection(), [
      { operation: OPERATION.activate, payload: [ttlv.text(TAG.uniqueIdentifier, uid)] },
    ]);
    if (!activated?.ok) this.#payload(activated as BatchResult, kid, TAG.uniqueIdentifier);
    return uid;
  }

  /** @internal The server's unique identifier of the key named `kid`, or undefined. */
  async locate(kid: string | undefined): Promise<string | undefined> {
    return this.#locate(kid);
  }

  /** @internal The connection settings (PEM contents read once). */
  connection(): KmipConnection {
    return this.#connection();
  }

  async #locate(kid: string | undefined): Promise<string | undefined> {
    if (kid === undefined) return undefined;
    const [result] = await kmipRequest(this.#connection(), [
      {
        operation: OPERATION.locate,
        payload: [
          ttlv.struct(TAG.attribute, [
            ttlv.text(TAG.attributeName, "Name"),
            { ...nameValue(kid), tag: TAG.attributeValue },
          ]),
        ],
      },
    ]);
    if (!result?.ok) {
      if (result?.reason === REASON.itemNotFound) return undefined;
      throw failure(result as BatchResult & { ok: false }, kid);
    }
    const ids = children(result.payload, TAG.uniqueIdentifier);
    if (ids.length === 0) return undefined;
    if (ids.length > 1) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `the KMIP server holds ${ids.length} objects named ${quoteShort(kid)}: the kid must name one key`,
      );
    }
    return ids[0]?.value as string;
  }

  #payload(result: BatchResult, kid: string, tag: number, kind?: "text"): Buffer & string {
    if (!result.ok) throw failure(result, kid);
    const item = child(result.payload, tag);
    if (item === undefined) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        "the KMIP server's answer lacks a field this client needs",
      );
    }
    if (kind === "text") return item.value as Buffer & string;
    return item.value as Buffer & string;
  }

  #connection(): KmipConnection {
    if (this.#conn) return this.#conn;
    const read = (path: string, what: string) => {
      try {
        return readFileSync(path);
      } catch (cause) {
        throw new CryptoTensorsError(
          "ERR_KEY_PROVIDER",
          `cannot read the KMIP ${what} ${quoteShort(path)} (${(cause as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
    };
    this.#conn = {
      host: this.#options.host,
      port: this.#options.port ?? 5696,
      cert: read(this.#options.cert, "client certificate"),
      key: read(this.#options.key, "client key"),
      ca: read(this.#options.ca, "CA certificate"),
      ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
    };
    return this.#conn;
  }
}

function aesOnly(alg: string) {
  const algorithm = parseAlgorithm(alg);
  if (algorithm === "chacha20poly1305") {
    throw new NotSupportedError(
      "KMIP has no ChaCha20-Poly1305 block cipher mode: files encrypted with chacha20poly1305 cannot use a KMIP master key; use aes256gcm",
    );
  }
  return algorithm;
}

function gcmParameters(): Ttlv {
  return ttlv.struct(TAG.cryptographicParameters, [
    ttlv.enum(TAG.blockCipherMode, GCM),
    ttlv.enum(TAG.cryptographicAlgorithm, AES),
    ttlv.int(TAG.tagLength, TAG_LENGTH),
  ]);
}

function nameValue(kid: string): Ttlv {
  // Name type 1: uninterpreted text string.
  return ttlv.struct(0, [ttlv.text(TAG.nameValue, kid), ttlv.enum(TAG.nameType, 1)]);
}

function failure(result: { reason: number; message: string }, kid: string): CryptoTensorsError {
  if (result.reason === REASON.cryptographicFailure) {
    return new CryptoTensorsError(
      "ERR_DECRYPTION_FAILED",
      `the KMIP key ${quoteShort(kid)} does not unwrap this file's data keys: wrong key or tampered __encryption__`,
    );
  }
  if (result.reason === REASON.permissionDenied) {
    return new CryptoTensorsError(
      "ERR_KEY_PROVIDER",
      `the KMIP server refused to use the key ${quoteShort(kid)} (permission denied: revoked, not active, or not this client's): ${result.message}`,
    );
  }
  return new CryptoTensorsError(
    "ERR_KEY_PROVIDER",
    `the KMIP server refused the request for ${quoteShort(kid)} (result reason ${result.reason}): ${result.message}`,
  );
}
