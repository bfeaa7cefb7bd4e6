// Key release from a KMIP server: for servers that keep and hand out keys but do not encrypt
// (many appliances only serve Get), the master key is fetched with KMIP Get over mutual TLS and
// the data keys are unwrapped locally. The key then exists in this process (wiped after use):
// prefer KmipKeyProvider, which never fetches it, wherever the server can Decrypt.
import { CryptoTensorsError } from "../../errors.js";
import { encodeBase64 } from "../../crypto/base64.js";
import type { KeyProvider, KeyRequest } from "../provider.js";
import { kmipRequest, OPERATION, TAG } from "./client.js";
import { KmipKeyProvider, type KmipProviderOptions } from "./provider.js";
import { child, ttlv } from "./ttlv.js";

/**
 * A provider that releases master keys from a KMIP server (KMIP `Get`), named by kid.
 *
 * @example
 * ```ts
 * registerKeyProvider(new KmipKeyReleaseProvider("kmip://kms:5696?cert=c.pem&key=c.key&ca=ca.pem", { alg: "aes256gcm" }));
 * ```
 */
export class KmipKeyReleaseProvider implements KeyProvider {
  readonly name: string;
  readonly priority: number;
  readonly #server: KmipKeyProvider;
  readonly #alg: string;

  constructor(
    options: KmipProviderOptions | string,
    settings: Pick<KmipProviderOptions, "name" | "priority" | "timeoutMs"> & { alg?: string } = {},
  ) {
    const { alg, ...rest } = settings;
    this.#server = new KmipKeyProvider(options, rest);
    this.name = settings.name ?? `${this.#server.name} (key release)`;
    this.priority = settings.priority ?? 50;
    this.#alg = alg ?? "aes256gcm";
  }

  matches(request: KeyRequest): boolean {
    return request.kid !== undefined;
  }

  /** The master key as a JWK (parsed, used once and wiped by the library). */
  async getMasterKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    const uid = await this.#server.locate(request.kid);
    if (uid === undefined) return undefined;
    const [result] = await kmipRequest(this.#server.connection(), [
      { operation: OPERATION.get, payload: [ttlv.text(TAG.uniqueIdentifier, uid)] },
    ]);
    if (!result?.ok) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `the KMIP server refused to release the key (result reason ${result?.ok === false ? result.reason : "?"})`,
      );
    }
    const block = child(child(result.payload, TAG.symmetricKey), TAG.keyBlock);
    const value = child(block, TAG.keyValue);
    const material = value?.type === 0x08 ? value : child(value, TAG.keyMaterial);
    if (!material || !Buffer.isBuffer(material.value)) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        "the KMIP server's Get answer holds no raw symmetric key material",
      );
    }
    const k = encodeBase64(material.value);
    material.value.fill(0);
    return { kty: "oct", alg: this.#alg, kid: request.kid, k };
  }
}
