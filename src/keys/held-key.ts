// A key named by kid/jku that stays inside its key provider (an HSM, a KMS): what `saveFile`,
// `encryptFile` and `rewrapFile` accept in place of a JWK when the publisher cannot export the
// master or signing key. The provider wraps data keys and signs; the library never sees the key.
import type { KeyDescriptor } from "../crypto/reserved.js";
import {
  heldMasterAccess,
  heldSignerAccess,
  type MasterAccess,
  type SignerAccess,
} from "./key-access.js";
import type { KeyProvider } from "./provider.js";

/** The labels a held key is written into the header with. */
export interface HeldKeyLabels {
  kid?: string;
  jku?: string;
  /** Data algorithm of a master key (`aes256gcm` or `chacha20poly1305`); required for one. */
  alg?: string;
}

/**
 * A master or signing key kept by `provider`. Use {@link HeldKey.master} / {@link HeldKey.signer}.
 *
 * @example
 * ```ts
 * const hsm = new Pkcs11KeyProvider("pkcs11:token=models?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234");
 * await saveFile("model.ct", tensors, {
 *   encryption: {
 *     encKey: HeldKey.master(hsm, { kid: "enc-1", alg: "aes256gcm" }),
 *     signKey: HeldKey.signer(hsm, { kid: "sign-1" }),
 *   },
 * });
 * ```
 */
export class HeldKey {
  // The bundled dist/ (scripts/bundle-dist.mjs) binds a class that names itself in its own body
  // as `var HeldKey = class _HeldKey`, which would be its `name` (util.inspect, stack traces).
  static {
    Object.defineProperty(HeldKey, "name", { value: "HeldKey" });
  }

  readonly kind: "master" | "sign";
  readonly provider: KeyProvider;
  readonly alg: string;
  readonly kid?: string;
  readonly jku?: string;

  private constructor(kind: "master" | "sign", provider: KeyProvider, labels: HeldKeyLabels) {
    if (provider === null || typeof provider !== "object" || typeof provider.name !== "string")
      throw new TypeError("a held key needs a key provider object");
    if (labels.kid !== undefined && typeof labels.kid !== "string")
      throw new TypeError("kid must be a string");
    if (labels.jku !== undefined && typeof labels.jku !== "string")
      throw new TypeError("jku must be a string");
    this.kind = kind;
    this.provider = provider;
    this.alg = labels.alg ?? (kind === "sign" ? "ed25519" : "");
    if (kind === "master" && this.alg === "")
      throw new TypeError("a held master key needs its alg (aes256gcm or chacha20poly1305)");
    if (labels.kid !== undefined) this.kid = labels.kid;
    if (labels.jku !== undefined) this.jku = labels.jku;
  }

  /** A master key `provider` wraps and unwraps data keys with (it implements `wrapDataKeys`). */
  static master(provider: KeyProvider, labels: HeldKeyLabels): HeldKey {
    if (typeof provider?.wrapDataKeys !== "function")
      throw new TypeError(
        `key provider "${provider?.name}" cannot wrap data keys (no wrapDataKeys)`,
      );
    return new HeldKey("master", provider, labels);
  }

  /** An Ed25519 private key `provider` signs with (it implements `sign`). */
  static signer(provider: KeyProvider, labels: Omit<HeldKeyLabels, "alg"> = {}): HeldKey {
    if (typeof provider?.sign !== "function")
      throw new TypeError(`key provider "${provider?.name}" cannot sign (no sign)`);
    return new HeldKey("sign", provider, labels);
  }

  /** The header descriptor of this key. */
  descriptor(): KeyDescriptor {
    return {
      kty: this.kind === "master" ? "oct" : "okp",
      alg: this.alg,
      ...(this.kid === undefined ? {} : { kid: this.kid }),
      ...(this.jku === undefined ? {} : { jku: this.jku }),
    };
  }

  /** @internal */
  masterAccess(): MasterAccess {
    return heldMasterAccess(this.provider, this.#request());
  }

  /** @internal */
  signerAccess(): SignerAccess {
    return heldSignerAccess(this.provider, this.#request());
  }

  #request(): { kid?: string; jku?: string } {
    return {
      ...(this.kid === undefined ? {} : { kid: this.kid }),
      ...(this.jku === undefined ? {} : { jku: this.jku }),
    };
  }
}
