// Licence tokens: a JWT signed with EdDSA (Ed25519) by the publisher's licence key, verified
// against pinned issuer keys. The JWS work is jose's; this module chooses the algorithm, the
// required claims, the audience rule (the model) and maps every failure to a typed error.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  type KeyObject,
} from "node:crypto";
import type * as Jose from "jose";
import { CryptoTensorsError } from "../errors.js";
import type { SigningKey } from "../keys/jwk.js";
import { type KeysOption, toKeyRing } from "../reader/key-lookup.js";

// jose (and the JWS machinery it brings) is loaded by the first licence operation, not when the
// package is imported: most loads never see a licence, and its module graph costs a fresh
// process several MiB of resident memory (issue 13).
let joseModule: Promise<typeof Jose> | undefined;
function loadJose(): Promise<typeof Jose> {
  joseModule ??= import("jose");
  return joseModule;
}

/** The only JWS algorithm issued and accepted (Ed25519 under its RFC 8037 name). */
const LICENCE_ALG = "EdDSA";
/** Claims the issuer sets itself; custom claims may not replace them. */
const REGISTERED = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"] as const;
/** Longest token accepted: a licence is a few hundred bytes, a huge one is an attack. */
const MAX_TOKEN_LENGTH = 16_384;

/** What {@link issueLicence} needs. */
export interface IssueLicenceOptions {
  /** The publisher's Ed25519 licence key (a JWK in either form, or a parsed SigningKey with `d`). */
  signingKey: unknown;
  /** Who the licence is for (the `sub` claim), e.g. a customer name. */
  subject: string;
  /** Expiry (`exp`); required: a licence that never expires cannot be retired by time. */
  expires: Date;
  /** Custom claims the policies see as `input.claims` (e.g. `{ tier: "pro" }`). */
  claims?: Record<string, unknown>;
  /** The model(s) it is for (`aud`): a master-key kid or a header digest `sha256:<hex>`; absent = any model of this issuer. */
  model?: string | readonly string[];
  /** Not valid before (`nbf`); default: valid at once. */
  notBefore?: Date;
  /** The licence id (`jti`, what revocation lists name); default a random UUID. */
  id?: string;
  /** Issued-at time; default now. */
  now?: Date;
}

/** A verified licence. */
export interface VerifiedLicence {
  /** Every claim of the token (registered and custom), as the policies see them. */
  claims: Record<string, unknown>;
  subject: string;
  /** The `jti`. */
  id: string;
  expiresAt: Date;
  /** kid of the issuer key that verified it (undefined when that key has none). */
  issuerKid: string | undefined;
}

/** The identifiers a licence audience may name for one model. */
export interface LicenceModel {
  /** The master key's kid from the header's `enc` descriptor. */
  kid?: string;
  /** `sha256:<hex>` of the header bytes ({@link headerDigest}). */
  digest?: string;
}

/** Options of {@link verifyLicence}. */
export interface VerifyLicenceOptions {
  /** Pinned issuer keys (Ed25519 public keys; private parts are ignored). */
  issuers: KeysOption;
  /** The model being opened: a token with an `aud` must name its kid or digest. */
  model?: LicenceModel;
  /** Clock for exp/nbf; default now. */
  now?: Date;
  /** Allowed clock skew in seconds for exp/nbf; default 0. */
  clockToleranceSeconds?: number;
}

/**
 * The digest a licence audience or a key-release request names a model by: `sha256:` and the
 * hex SHA-256 of the N header bytes (after the 8-byte length prefix).
 *
 * @example
 * ```ts
 * headerDigest(region); // "sha256:9f86d0…"
 * ```
 */
export function headerDigest(headerBytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(headerBytes).digest("hex")}`;
}

function okpJwk(key: SigningKey, withPrivate: boolean): Record<string, string> {
  return {
    kty: "OKP",
    crv: "Ed25519",
    x: key.publicKey.toString("base64url"),
    ...(withPrivate ? { d: (key.privateKey as Buffer).toString("base64url") } : {}),
  };
}

function signingKeyOf(value: unknown, role: string): SigningKey {
  const ring = toKeyRing(value as KeysOption);
  const key = ring.signers[0];
  if (key === undefined || ring.signers.length !== 1)
    throw new TypeError(`${role} must hold exactly one Ed25519 (okp) key`);
  return key;
}

/** @internal The node:crypto private key of a licence signing key. */
export function licencePrivateKey(value: unknown): { key: KeyObject; kid: string | undefined } {
  const signer = signingKeyOf(value, "signingKey");
  if (!signer.canSign) throw new TypeError("signingKey has no private part (d)");
  return {
    key: createPrivateKey({ key: okpJwk(signer, true), format: "jwk" }),
    kid: signer.kid,
  };
}

/**
 * Issues a licence: a compact JWS (JWT) signed with EdDSA, claims `sub`, `exp`, `iat`, `jti`,
 * optional `nbf`, `aud` (the model) and the custom claims.
 *
 * @example
 * ```ts
 * const token = await issueLicence({ signingKey: jwk, subject: "ACME", claims: { tier: "pro" },
 *   expires: new Date("2027-01-01T00:00:00Z"), model: "enc-1" });
 * ```
 */
export async function issueLicence(options: IssueLicenceOptions): Promise<string> {
  if (typeof options !== "object" || options === null) throw new TypeError("options required");
  const { subject, expires } = options;
  if (typeof subject !== "string" || subject.length === 0)
    throw new TypeError("subject must be a non-empty string");
  if (!(expires instanceof Date) || Number.isNaN(expires.getTime()))
    throw new TypeError("expires must be a valid Date");
  const now = options.now ?? new Date();
  if (expires.getTime() <= now.getTime())
    throw new RangeError("expires is not in the future: the licence would never be valid");
  const claims = options.claims ?? {};
  if (typeof claims !== "object" || claims === null || Array.isArray(claims))
    throw new TypeError("claims must be a JSON object");
  for (const name of REGISTERED) {
    if (name in claims)
      throw new TypeError(`claims may not set "${name}": use the option for it instead`);
  }
  const models = options.model === undefined ? [] : [options.model].flat();
  if (!models.every((m) => typeof m === "string" && m.length > 0))
    throw new TypeError("model must be a non-empty string or an array of them");
  const { key, kid } = licencePrivateKey(options.signingKey);
  const { SignJWT } = await loadJose();
  const jwt = new SignJWT({ ...claims })
    .setProtectedHeader({ alg: LICENCE_ALG, typ: "JWT", ...(kid === undefined ? {} : { kid }) })
    .setSubject(subject)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(expires.getTime() / 1000))
    .setJti(options.id ?? randomUUID());
  if (options.notBefore !== undefined) {
    if (!(options.notBefore instanceof Date) || Number.isNaN(options.notBefore.getTime()))
      throw new TypeError("notBefore must be a valid Date");
    jwt.setNotBefore(Math.floor(options.notBefore.getTime() / 1000));
  }
  if (models.length > 0) jwt.setAudience(models.length === 1 ? (models[0] as string) : models);
  return jwt.sign(key);
}

function licenceError(
  code:
    | "ERR_LICENCE_INVALID"
    | "ERR_LICENCE_EXPIRED"
    | "ERR_LICENCE_NOT_YET_VALID"
    | "ERR_LICENCE_AUDIENCE",
  message: string,
  cause?: unknown,
): CryptoTensorsError {
  return new CryptoTensorsError(code, message, cause === undefined ? undefined : { cause });
}

/** The pinned issuer keys a token's header may be checked against (by kid when it has one). */
function issuerCandidates(
  jose: typeof Jose,
  token: string,
  issuers: KeysOption,
): Array<{ key: KeyObject; kid?: string }> {
  const ring = toKeyRing(issuers);
  if (ring.signers.length === 0) throw new TypeError("licenceIssuers holds no Ed25519 (okp) key");
  let kid: unknown;
  try {
    const header = jose.decodeProtectedHeader(token);
    if (header.alg !== LICENCE_ALG) {
      throw licenceError(
        "ERR_LICENCE_INVALID",
        `the licence is signed with ${JSON.stringify(String(header.alg))}; only EdDSA licences are accepted`,
      );
    }
    kid = header.kid;
  } catch (error) {
    if (error instanceof CryptoTensorsError) throw error;
    throw licenceError("ERR_LICENCE_INVALID", "the licence is not a well-formed JWT", error);
  }
  const matching = ring.signers.filter((s) => typeof kid !== "string" || s.kid === kid);
  if (matching.length === 0) {
    throw licenceError(
      "ERR_LICENCE_INVALID",
      "the licence was signed by a key that is not among the pinned licence issuers",
    );
  }
  return matching.map((s) => ({
    key: createPublicKey({ key: okpJwk(s, false), format: "jwk" }),
    ...(s.kid === undefined ? {} : { kid: s.kid }),
  }));
}

/**
 * Verifies a licence against pinned issuer keys: signature (EdDSA only), `exp` (required),
 * `nbf`, `sub` and `jti` (required), and, when the token names an audience, that it names this
 * model (its master-key kid or header digest). Throws `ERR_LICENCE_INVALID` (bad signature,
 * unknown issuer, malformed), `ERR_LICENCE_EXPIRED`, `ERR_LICENCE_NOT_YET_VALID` or
 * `ERR_LICENCE_AUDIENCE`.
 *
 * @example
 * ```ts
 * const { claims } = await verifyLicence(token, { issuers: { keys: [issuerPublicJwk] }, model: { kid: "enc-1" } });
 * claims.tier; // "pro"
 * ```
 */
export async function verifyLicence(
  token: string,
  options: VerifyLicenceOptions,
): Promise<VerifiedLicence> {
  if (typeof token !== "string" || token.length === 0)
    throw new TypeError("licence must be a non-empty string (a JWT)");
  if (token.length > MAX_TOKEN_LENGTH)
    throw licenceError(
      "ERR_LICENCE_INVALID",
      `the licence is longer than ${MAX_TOKEN_LENGTH} characters`,
    );
  const now = options.now ?? new Date();
  const jose = await loadJose();
  let lastError: unknown;
  for (const candidate of issuerCandidates(jose, token.trim(), options.issuers)) {
    try {
      const { payload } = await jose.jwtVerify(token.trim(), candidate.key, {
        algorithms: [LICENCE_ALG],
        requiredClaims: ["exp", "sub", "jti"],
        currentDate: now,
        clockTolerance: options.clockToleranceSeconds ?? 0,
      });
      checkAudience(payload.aud, options.model);
      return {
        claims: { ...payload },
        subject: payload.sub as string,
        id: payload.jti as string,
        expiresAt: new Date((payload.exp as number) * 1000),
        issuerKid: candidate.kid,
      };
    } catch (error) {
      if (error instanceof jose.errors.JWSSignatureVerificationFailed) {
        lastError = error;
        continue;
      }
      throw mapJoseError(jose, error);
    }
  }
  throw licenceError(
    "ERR_LICENCE_INVALID",
    "the licence signature does not verify under any pinned licence issuer key (forged, altered or from another issuer)",
    lastError,
  );
}

function checkAudience(aud: unknown, model: LicenceModel | undefined): void {
  if (aud === undefined) return;
  const named = Array.isArray(aud) ? aud : [aud];
  const ids = [model?.kid, model?.digest].filter((x): x is string => typeof x === "string");
  if (!named.some((a) => ids.includes(a as string))) {
    throw licenceError(
      "ERR_LICENCE_AUDIENCE",
      `the licence is for another model (audience ${named.map((a) => JSON.stringify(String(a))).join(", ")}; this model is ${ids.map((i) => JSON.stringify(i)).join(" / ") || "unnamed"})`,
    );
  }
}

function mapJoseError(jose: typeof Jose, error: unknown): CryptoTensorsError {
  if (error instanceof CryptoTensorsError) return error;
  if (error instanceof jose.errors.JWTExpired)
    return licenceError(
      "ERR_LICENCE_EXPIRED",
      "the licence has expired; ask the publisher for a new one",
      error,
    );
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf")
      return licenceError(
        "ERR_LICENCE_NOT_YET_VALID",
        "the licence is not valid yet (nbf is in the future)",
        error,
      );
    return licenceError(
      "ERR_LICENCE_INVALID",
      `the licence claim ${JSON.stringify(error.claim)} is missing or invalid (${error.reason})`,
      error,
    );
  }
  return licenceError(
    "ERR_LICENCE_INVALID",
    "the licence is not a well-formed, EdDSA-signed JWT",
    error,
  );
}
