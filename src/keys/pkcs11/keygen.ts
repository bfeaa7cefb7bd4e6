// Creates a model's keys inside a PKCS#11 token: an AES master key and an Ed25519 key pair, both
// on the token, sensitive and non-extractable. What comes back is public: the labels to write
// into headers and the verification JWK readers pin.
import { CryptoTensorsError } from "../../errors.js";
import { keyLength, parseAlgorithm } from "../../crypto/algorithms.js";
import { quoteShort } from "../../crypto/quote.js";
import { Pkcs11KeyProvider } from "./provider.js";
import { CKK_EC_EDWARDS, CKM_EC_EDWARDS_KEY_PAIR_GEN } from "./token.js";

/** What {@link generatePkcs11Keys} creates. */
export interface Pkcs11KeygenOptions {
  /** Master key algorithm: aes256gcm (default) or aes128gcm; the token does the AES-GCM. */
  alg?: string;
  /** Label of the master key (default "enc"); omit the key with `encKid: null`. */
  encKid?: string | null;
  /** Label of the Ed25519 key pair (default "sign"); omit the pair with `signKid: null`. */
  signKid?: string | null;
}

/** The public side of keys created in a token. */
export interface Pkcs11Keys {
  /** Header descriptor of the master key (no key bytes: they stay in the token). */
  enc?: { kty: "oct"; alg: string; kid: string };
  /** The verification key (public JWK) of the signing pair. */
  verify?: { kty: "okp"; alg: "ed25519"; kid: string; x: string };
}

/** DER of the curve name "edwards25519" (PrintableString), the CKA_EC_PARAMS of Ed25519. */
const ED25519_PARAMS = Buffer.from("130c656477617264733235353139", "hex");

/**
 * Generates the keys in the token named by `uri`; a label already in use is refused
 * (`ERR_KEY_INVALID`), so an existing key is never shadowed.
 *
 * @example
 * ```ts
 * const made = await generatePkcs11Keys(
 *   "pkcs11:token=models?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin",
 *   { encKid: "enc-1", signKid: "sign-1" },
 * );
 * made.verify; // { kty: "okp", alg: "ed25519", kid: "sign-1", x: "…" }: pin it in readers
 * ```
 */
export async function generatePkcs11Keys(
  uri: string,
  options: Pkcs11KeygenOptions = {},
): Promise<Pkcs11Keys> {
  const provider = new Pkcs11KeyProvider(uri);
  try {
    const token = provider.token;
    const algorithm = parseAlgorithm(options.alg ?? "aes256gcm");
    if (algorithm === "chacha20poly1305") {
      throw new CryptoTensorsError(
        "ERR_NOT_SUPPORTED",
        "the PKCS#11 provider keeps AES-GCM master keys only: use --alg aes256gcm",
      );
    }
    const encKid = options.encKid === undefined ? "enc" : options.encKid;
    const signKid = options.signKid === undefined ? "sign" : options.signKid;
    for (const [kind, label] of [
      ["secret", encKid],
      ["private", signKid],
    ] as const) {
      if (label !== null && token.findKey(kind, label) !== undefined) {
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `${token.label} already holds a key labelled ${quoteShort(label)}: choose another kid`,
        );
      }
    }
    const { p, session, c } = token.session(true);
    const made: Pkcs11Keys = {};
    const kept = [
      { type: c.CKA_TOKEN, value: true },
      { type: c.CKA_PRIVATE, value: true },
      { type: c.CKA_SENSITIVE, value: true },
      { type: c.CKA_EXTRACTABLE, value: false },
    ];
    if (encKid !== null) {
      token.call("C_GenerateKey", () =>
        p.C_GenerateKey(session, { mechanism: c.CKM_AES_KEY_GEN }, [
          { type: c.CKA_CLASS, value: c.CKO_SECRET_KEY },
          { type: c.CKA_KEY_TYPE, value: c.CKK_AES },
          { type: c.CKA_VALUE_LEN, value: keyLength(algorithm) },
          { type: c.CKA_LABEL, value: encKid },
          { type: c.CKA_ENCRYPT, value: true },
          { type: c.CKA_DECRYPT, value: true },
          ...kept,
        ]),
      );
      made.enc = { kty: "oct", alg: algorithm, kid: encKid };
    }
    if (signKid !== null) {
      token.call("C_GenerateKeyPair", () =>
        p.C_GenerateKeyPair(
          session,
          { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
          [
            { type: c.CKA_CLASS, value: c.CKO_PUBLIC_KEY },
            { type: c.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
            { type: c.CKA_TOKEN, value: true },
            { type: c.CKA_LABEL, value: signKid },
            { type: c.CKA_VERIFY, value: true },
            { type: c.CKA_EC_PARAMS, value: ED25519_PARAMS },
          ],
          [
            { type: c.CKA_CLASS, value: c.CKO_PRIVATE_KEY },
            { type: c.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
            { type: c.CKA_LABEL, value: signKid },
            { type: c.CKA_SIGN, value: true },
            ...kept,
          ],
        ),
      );
      const verify = await provider.getVerifyKey({ kid: signKid });
      made.verify = verify as Pkcs11Keys["verify"];
    }
    return made;
  } finally {
    provider.close();
  }
}
