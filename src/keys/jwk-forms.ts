// The two JWK spellings we read (FORMAT.md §5.1 and RFC 7517/7518/8037): the reference's form
// (`kty` "oct"/"okp", `alg` aes256gcm/…/ed25519, standard base64 with padding) and the standard
// form (`kty` "OKP" with `crv` "Ed25519", JWA `alg` names or none, unpadded base64url). Both map to
// the reference's labels, which are what we write back (toJwk).
import { CryptoTensorsError } from "../errors.js";
import { decodeBase64, isStrictBase64 } from "../crypto/base64.js";

const BASE64URL = /^[A-Za-z0-9_-]*$/;

// JWA (RFC 7518 §5.3) names of the AEADs the format uses; "C20P" is the draft JOSE name of
// ChaCha20-Poly1305 that JOSE libraries emit.
const JWA_ENCRYPTION: Record<string, string> = {
  A128GCM: "aes128gcm",
  A256GCM: "aes256gcm",
  C20P: "chacha20poly1305",
};

/**
 * The key type of a JWK in the reference's terms: `"oct"`, or `"okp"` for the reference's
 * `"okp"` and RFC 8037's `"OKP"` (which must then name `crv: "Ed25519"`). Anything else is
 * `ERR_KEY_INVALID`.
 *
 * @example
 * ```ts
 * jwkKeyType({ kty: "OKP", crv: "Ed25519" }, "JWK "); // "okp"
 * ```
 */
export function jwkKeyType(jwk: Record<string, unknown>, prefix: string): "oct" | "okp" {
  const kty = jwk["kty"];
  const crv = jwk["crv"];
  if (kty === "oct") return "oct";
  if (kty === "okp" || kty === "OKP") {
    // RFC 8037 requires crv; X25519/Ed448 keys cannot sign this format.
    if (kty === "OKP" || crv !== undefined) {
      if (crv !== "Ed25519")
        throw new CryptoTensorsError(
          "ERR_KEY_INVALID",
          `${prefix}of kty "OKP" must have "crv": "Ed25519"`,
        );
    }
    return "okp";
  }
  throw new CryptoTensorsError(
    "ERR_KEY_INVALID",
    `${prefix}"kty" must be "oct", "okp" or "OKP" (RFC 8037 with crv Ed25519)`,
  );
}

/**
 * The `alg` label in the reference's spelling. Missing means "" for a master key (the header's
 * algorithm is used when loading) and "ed25519" for an Ed25519 key; JWA names are translated
 * (A128GCM, A256GCM, C20P, EdDSA). Other strings are returned unchanged for the caller to check.
 *
 * @example
 * ```ts
 * jwkAlgorithm({ alg: "A256GCM" }, "oct", "JWK "); // "aes256gcm"
 * ```
 */
export function jwkAlgorithm(
  jwk: Record<string, unknown>,
  kty: "oct" | "okp",
  prefix: string,
): string {
  const alg = jwk["alg"];
  if (alg === undefined || alg === null) return kty === "oct" ? "" : "ed25519";
  if (typeof alg !== "string")
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${prefix}"alg" must be a string (it may be empty)`,
    );
  if (kty === "oct") return JWA_ENCRYPTION[alg] ?? alg;
  return alg === "EdDSA" ? "ed25519" : alg;
}

/**
 * Decodes a key field given in strict standard base64 (the reference's form) or in base64url
 * without padding (RFC 7515 §2, the standard JWK form) into a fresh Buffer the caller may wipe.
 * Anything else is `ERR_KEY_INVALID` naming the field, never its value.
 *
 * @example
 * ```ts
 * decodeKeyBytes("AAE", "JWK \"k\""); // <Buffer 00 01>
 * ```
 */
export function decodeKeyBytes(text: string, what: string): Buffer {
  if (isStrictBase64(text)) return decodeBase64(text, "ERR_KEY_INVALID", what);
  if (BASE64URL.test(text) && text.length % 4 !== 1) {
    const out = Buffer.alloc(Math.floor((text.length * 3) / 4));
    const written = out.write(text, "base64url");
    // Canonical only: the unused low bits of the last character must be zero.
    if (written === out.length && out.toString("base64url") === text) return out;
    out.fill(0);
  }
  throw new CryptoTensorsError(
    "ERR_KEY_INVALID",
    `${what} is neither standard base64 (padded) nor base64url (unpadded)`,
  );
}
