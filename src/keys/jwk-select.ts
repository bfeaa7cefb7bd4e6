// Choosing a JWK out of a key file or CRYPTOTENSOR_KEYS as the reference's file and env
// providers do (FORMAT.md §5.2): the content is `{"keys":[…]}` or one JWK (an object with `kty`);
// keep the entries of the wanted kind; with a kid the exact match or nothing, without one the
// first. Only the chosen entry is parsed (and validated), by the caller.
import { CryptoTensorsError } from "../errors.js";

/** Which kind of key a lookup wants: a master key (kty "oct") or an Ed25519 key ("okp"/"OKP"). */
export type KeyRole = "master" | "verify";

/**
 * The JWK entries of a parsed key file or variable. Anything that is neither a JWK set nor one
 * JWK object is `ERR_KEY_INVALID` (naming `where`, never the content).
 *
 * @example
 * ```ts
 * jwkEntries(JSON.parse(text), "/etc/keys/model.jwks"); // [{ kty: "oct", … }, { kty: "okp", … }]
 * ```
 */
export function jwkEntries(value: unknown, where: string): Array<Record<string, unknown>> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj["keys"])) {
      return obj["keys"].filter(
        (entry): entry is Record<string, unknown> =>
          entry !== null && typeof entry === "object" && !Array.isArray(entry),
      );
    }
    if ("kty" in obj) return [obj];
  }
  throw new CryptoTensorsError(
    "ERR_KEY_INVALID",
    `${where} must hold a JWK set {"keys":[...]} or one JWK object with "kty"`,
  );
}

/**
 * The entry a lookup selects, or undefined.
 *
 * @example
 * ```ts
 * selectJwk(entries, "verify", "sign-1"); // the okp entry whose kid is "sign-1"
 * ```
 */
export function selectJwk(
  entries: ReadonlyArray<Record<string, unknown>>,
  role: KeyRole,
  kid: string | undefined,
): Record<string, unknown> | undefined {
  const ofKind = entries.filter((entry) =>
    role === "master" ? entry["kty"] === "oct" : entry["kty"] === "okp" || entry["kty"] === "OKP",
  );
  return kid === undefined ? ofKind[0] : ofKind.find((entry) => entry["kid"] === kid);
}

/**
 * Parses JSON key text without ever echoing it (V8's messages quote the input, which holds
 * secrets): invalid JSON is `ERR_KEY_INVALID` naming only `where`.
 *
 * @example
 * ```ts
 * parseKeyJson(process.env.CRYPTOTENSOR_KEYS ?? "", "CRYPTOTENSOR_KEYS");
 * ```
 */
export function parseKeyJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CryptoTensorsError(
      "ERR_KEY_INVALID",
      `${where} is not valid JSON (it must hold a JWK set or one JWK)`,
    );
  }
}
