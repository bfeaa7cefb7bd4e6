// Fresh keys from the OS CSPRNG, in the reference's JWK form (what its KeyMaterial::to_jwk writes).
import { randomBytes } from "node:crypto";
import { keyLength, parseAlgorithm } from "../crypto/algorithms.js";
import { ed25519PublicKey } from "../crypto/signature.js";
import { MasterKey, SigningKey, toJwk } from "./jwk.js";

/** Options of {@link generateKeySet}. */
export interface GenerateKeySetOptions {
  /** Master key algorithm; default "aes256gcm" (the reference's default). */
  alg?: "aes256gcm" | "aes128gcm" | "chacha20poly1305";
  /** kid of the master key; omitted when not given (the reference sets none by default). */
  encKid?: string;
  /** kid of the signing key; omitted when not given. */
  signKid?: string;
}

function fresh(length: number): Buffer {
  const out = Buffer.alloc(length);
  randomBytes(length).copy(out);
  return out;
}

/**
 * A new random master key.
 *
 * @example
 * ```ts
 * const master = generateMasterKey("chacha20poly1305", "enc-2");
 * ```
 */
export function generateMasterKey(alg: string = "aes256gcm", kid?: string): MasterKey {
  return new MasterKey(
    { alg, ...(kid === undefined ? {} : { kid }) },
    fresh(keyLength(parseAlgorithm(alg))),
  );
}

/**
 * A new random Ed25519 signing key (seed and public key).
 *
 * @example
 * ```ts
 * const signer = generateSigningKey("sign-2");
 * ```
 */
export function generateSigningKey(kid?: string): SigningKey {
  const seed = fresh(32);
  return new SigningKey(
    { alg: "ed25519", ...(kid === undefined ? {} : { kid }) },
    ed25519PublicKey(seed),
    seed,
  );
}

/**
 * A new JWK set `{"keys":[encKey, signKey]}` in the reference's form, secrets included:
 * `{"kty":"oct","alg":"aes256gcm","kid":…,"k":…}` and `{"kty":"okp","alg":"ed25519","kid":…,"x":…,"d":…}`.
 * For key files only; treat the result as a secret.
 *
 * @example
 * ```ts
 * const set = generateKeySet({ encKid: "enc-1", signKid: "sign-1" });
 * fs.writeFileSync("keys.json", JSON.stringify(set), { mode: 0o600 });
 * ```
 */
export function generateKeySet(options: GenerateKeySetOptions = {}): {
  keys: [Record<string, string>, Record<string, string>];
} {
  const alg = options.alg ?? "aes256gcm";
  if (alg !== "aes256gcm" && alg !== "aes128gcm" && alg !== "chacha20poly1305") {
    throw new RangeError("alg must be aes256gcm, aes128gcm or chacha20poly1305");
  }
  for (const kid of [options.encKid, options.signKid]) {
    if (kid !== undefined && (typeof kid !== "string" || kid === ""))
      throw new TypeError("a kid must be a non-empty string");
  }
  const master = generateMasterKey(alg, options.encKid);
  const signer = generateSigningKey(options.signKid);
  try {
    return { keys: [toJwk(master), toJwk(signer)] };
  } finally {
    master.wipe();
    signer.wipe();
  }
}

/**
 * A new key pair for a model: `{ keys: [encJwk, signJwk] }` in the reference's JWK form (the
 * public name of {@link generateKeySet}). Treat the result as a secret.
 *
 * @example
 * ```ts
 * const { keys: [encKey, signKey] } = generateKeys({ alg: "aes256gcm", encKid: "enc-2", signKid: "sign-2" });
 * await rewrapFile("model.ct", { oldKeys, newEncKey: encKey, newSignKey: signKey });
 * ```
 */
export function generateKeys(options: GenerateKeySetOptions = {}): {
  keys: [Record<string, string>, Record<string, string>];
} {
  return generateKeySet(options);
}
