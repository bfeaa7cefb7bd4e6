// Small typed accessors over the order-preserving JsonValue of src/format/json.ts, used by the
// reserved-entry parsers. Every failure is reported by the caller's `fail` callback, so each
// entry keeps its own error code; no accessor ever puts a value in a message.
import { CryptoTensorsError, type ErrorCode } from "../errors.js";
import { parseJson, type JsonValue } from "../format/json.js";

/** The entries of a JSON object, by name (parseJson has already refused duplicate names). */
export type JsonObject = Map<string, JsonValue>;

/**
 * Parses `text` with the strict parser and requires an object; any failure — syntax, duplicate
 * key, not an object — becomes `CryptoTensorsError(code)` with `what` in the message.
 *
 * @example
 * ```ts
 * const obj = parseObject(text, "ERR_POLICY_MISSING", "__policy__");
 * ```
 */
export function parseObject(text: string, code: ErrorCode, what: string): JsonObject {
  const value = parseJsonAs(text, code, what);
  if (value.type !== "object") throw new CryptoTensorsError(code, `${what} must be a JSON object`);
  return new Map(value.entries);
}

/**
 * Parses `text` with the strict parser, turning its errors into `CryptoTensorsError(code)`.
 *
 * @example
 * ```ts
 * const value = parseJsonAs(text, "ERR_CRYPTO_KEYS_INVALID", "__crypto_keys__");
 * ```
 */
export function parseJsonAs(text: string, code: ErrorCode, what: string): JsonValue {
  if (typeof text !== "string") throw new TypeError(`${what} must be a string`);
  try {
    // The parser's default depth limit (128) is serde_json's, so unknown nested members that
    // the reference tolerates are tolerated here too.
    return parseJson(text);
  } catch (error) {
    if (error instanceof CryptoTensorsError) {
      const reason =
        error.code === "ERR_HEADER_DUPLICATE_KEY" ? "repeats a key" : "is not valid JSON";
      throw new CryptoTensorsError(code, `${what} ${reason}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Converts an object value to a {@link JsonObject}, or undefined when it is not an object.
 *
 * @example
 * ```ts
 * const enc = asObject(root.get("enc"));
 * ```
 */
export function asObject(value: JsonValue | undefined): JsonObject | undefined {
  return value !== undefined && value.type === "object" ? new Map(value.entries) : undefined;
}

/** What {@link optionalString} found: absent (missing or `null`), a string, or another type. */
export type OptionalString =
  | { kind: "absent" }
  | { kind: "string"; value: string }
  | { kind: "wrong-type" };

/**
 * Reads a member that serde would deserialize as `Option<String>`: missing and `null` are both
 * absent.
 *
 * @example
 * ```ts
 * const kid = optionalString(obj, "kid");
 * ```
 */
export function optionalString(obj: JsonObject, name: string): OptionalString {
  const value = obj.get(name);
  if (value === undefined || value.type === "null") return { kind: "absent" };
  if (value.type === "string") return { kind: "string", value: value.value };
  return { kind: "wrong-type" };
}

// With the u flag a paired surrogate is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * `JSON.stringify` of a string, which escapes exactly as serde_json does (FORMAT.md §4.1), after
 * refusing strings with lone surrogates: JSON.stringify would write them as `\udxxx` escapes that
 * the reference parser rejects, so such a header could never be read back.
 *
 * @example
 * ```ts
 * jsonText("a\"b", "kid"); // '"a\\"b"'
 * ```
 */
export function jsonText(value: string, what: string): string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string`);
  if (LONE_SURROGATE.test(value)) throw new TypeError(`${what} contains a lone UTF-16 surrogate`);
  return JSON.stringify(value);
}

/**
 * True when `value` has no lone UTF-16 surrogate (so it is valid Unicode and encodes to UTF-8).
 *
 * @example
 * ```ts
 * isWellFormedText("\ud800"); // false
 * ```
 */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}
