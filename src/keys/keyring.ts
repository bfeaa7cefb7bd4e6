// A set of keys and the reference's selection rule (FORMAT.md §5.2): keep the keys of the wanted
// kind; with a kid, the exact match or nothing; without, the first. Also the CRYPTOTENSOR_KEYS
// environment variable, which (as in the reference) holds JSON — a JWK set or one JWK — never a path.
import { inspect } from "node:util";
import { CryptoTensorsError } from "../errors.js";
import { MasterKey, SigningKey, parseJwk } from "./jwk.js";

/** Name of the environment variable the reference's env provider reads. */
export const KEYS_ENV_VAR = "CRYPTOTENSOR_KEYS";

function select<K extends { kid?: string }>(
  keys: readonly K[],
  kid: string | undefined,
): K | undefined {
  return kid === undefined ? keys[0] : keys.find((key) => key.kid === kid);
}

/**
 * Master and Ed25519 keys in the order given. Secrets never appear in its inspect/JSON output.
 *
 * @example
 * ```ts
 * const ring = parseKeySet({ keys: [encJwk, signJwk] });
 * ring.findMaster("enc-1"); // the oct key with kid "enc-1", or undefined
 * ring.findVerifier();      // the first okp key
 * ```
 */
export class KeyRing {
  readonly masters: readonly MasterKey[];
  readonly signers: readonly SigningKey[];

  constructor(keys: ReadonlyArray<MasterKey | SigningKey>) {
    this.masters = keys.filter((k): k is MasterKey => k instanceof MasterKey);
    this.signers = keys.filter((k): k is SigningKey => k instanceof SigningKey);
  }

  /** The master key with this kid; without a kid, the first master key. */
  findMaster(kid?: string): MasterKey | undefined {
    return select(this.masters, kid);
  }

  /** The Ed25519 key (public part suffices) with this kid; without a kid, the first one. */
  findVerifier(kid?: string): SigningKey | undefined {
    return select(this.signers, kid);
  }

  /** Like {@link findVerifier}, among the keys that hold a private seed. */
  findSigner(kid?: string): SigningKey | undefined {
    return select(
      this.signers.filter((k) => k.canSign),
      kid,
    );
  }

  /** Zeroes every key of the ring. */
  wipe(): void {
    for (const key of [...this.masters, ...this.signers]) key.wipe();
  }

  toJSON(): { keys: unknown[] } {
    return { keys: [...this.masters, ...this.signers].map((k) => k.toJSON()) };
  }

  [inspect.custom](depth: number, options: object): string {
    return `KeyRing ${inspect({ masters: this.masters, signers: this.signers }, { ...options, depth })}`;
  }
}

/**
 * Builds a {@link KeyRing} from `{ keys: [...] }` (a JWK set), an array of JWKs, or one JWK (an
 * object with `kty`); a KeyRing is returned as is, and parsed key objects may stand in for JWKs.
 * Every key is validated (unlike the reference, which validates only the one it selects), and
 * errors say which key: `ERR_KEY_INVALID "keys[1]: JWK "k" is not valid standard base64"`.
 *
 * @example
 * ```ts
 * const ring = parseKeySet(JSON.parse(fs.readFileSync("keys.json", "utf8")));
 * ```
 */
export function parseKeySet(value: unknown): KeyRing {
  if (value instanceof KeyRing) return value;
  if (Array.isArray(value)) return new KeyRing(value.map((jwk, i) => parseJwk(jwk, `keys[${i}]`)));
  if (value instanceof MasterKey || value instanceof SigningKey) return new KeyRing([value]);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    // The env provider's order: a "keys" array first, then a single JWK.
    if (Array.isArray(obj["keys"])) return parseKeySet(obj["keys"]);
    if ("kty" in obj) return new KeyRing([parseJwk(obj)]);
  }
  throw new CryptoTensorsError(
    "ERR_KEY_INVALID",
    'a key set must be {"keys":[...]}, an array of JWKs, or one JWK object with "kty"',
  );
}

/**
 * The keys of `CRYPTOTENSOR_KEYS`, or null when the variable is unset. It holds JSON: a JWK set
 * `{"keys":[...]}` or one JWK (a bare array is refused, as by the reference). Invalid content
 * throws `ERR_KEY_INVALID` without echoing it (where the reference would skip the provider and
 * report that no key was found).
 *
 * @example
 * ```ts
 * const ring = keyRingFromEnv(); // null if CRYPTOTENSOR_KEYS is not set
 * ```
 */
export function keyRingFromEnv(env: NodeJS.ProcessEnv = process.env): KeyRing | null {
  const text = env[KEYS_ENV_VAR];
  if (text === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the input, which holds secrets: no message, no cause.
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${KEYS_ENV_VAR} is not valid JSON (it must hold a JWK set or one JWK, not a path)`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${KEYS_ENV_VAR} must hold a JSON object: {"keys":[...]} or one JWK`,
    );
  }
  try {
    return parseKeySet(value);
  } catch (error) {
    if (error instanceof CryptoTensorsError) {
      throw new CryptoTensorsError(error.code, `${KEYS_ENV_VAR}: ${error.message}`);
    }
    throw error;
  }
}

// Key generation and export live in generate.ts / jwk.ts; re-exported so one import serves.
export {
  generateKeySet,
  generateMasterKey,
  generateSigningKey,
  type GenerateKeySetOptions,
} from "./generate.js";
export { toJwk } from "./jwk.js";
