/**
 * Number text as OPA reads it. `to_number` accepts what Go's `strconv.ParseFloat` accepts (a sign,
 * `03`, `5.`, `.5`, `1_000`, hex `0x1p-2`; not `Inf`/`NaN`, not out of float64 range), and OPA
 * keeps the number's text, so integers written as `1e30` stay exact. Values here follow the
 * engine's canonical form (values.ts): integral values are exact (bigint beyond ±2^53), others doubles.
 */
import { canonicalNumber } from "./values.js";

/** Largest decimal exponent turned into an exact integer (beyond it a literal is refused). */
const MAX_EXACT_EXPONENT = 1000;

/**
 * Exact value of decimal text `[-]digits[.digits][e[+-]digits]` (no underscores); `undefined` when
 * the exponent is too large to represent exactly.
 *
 * @example
 * ```ts
 * decimalValue("1e30"); // 1000000000000000000000000000000n
 * decimalValue("1.5"); // 1.5
 * ```
 */
export function decimalValue(text: string): number | bigint | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (m === null) return undefined;
  const [, sign, int = "", frac = "", expText] = m;
  const exp = expText === undefined ? 0 : Number(expText);
  const digits = `${int}${frac}`.replace(/^0+/, "");
  if (digits === "") return 0;
  const trimmed = digits.replace(/0+$/, "");
  // value = trimmed × 10^scale
  const scale = exp - frac.length + (digits.length - trimmed.length);
  if (scale >= 0) {
    if (scale + trimmed.length > MAX_EXACT_EXPONENT) return undefined;
    const n = BigInt(trimmed) * 10n ** BigInt(scale);
    return canonicalNumber(sign === "-" ? -n : n);
  }
  const n = Number(text);
  return Number.isFinite(n) ? canonicalNumber(n) : undefined;
}

/** Go's underscoreOK: underscores only between digits (or after a base prefix), never last. */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "+" || s[0] === "-") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "bBoOxX".includes(s[1]!)) {
    i = 2;
    saw = "0";
    hex = s[1] === "x" || s[1] === "X";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c))) saw = "0";
    else if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
    } else {
      if (saw === "_") return false;
      saw = "!";
    }
  }
  return saw !== "_";
}

/**
 * Parses number text as OPA's `to_number` does (Go `strconv.ParseFloat` syntax and range, no
 * infinities or NaN); `undefined` where OPA raises an error.
 *
 * @example
 * ```ts
 * parseGoNumber("1_000"); // 1000
 * parseGoNumber("0x1p-2"); // 0.25
 * parseGoNumber("Inf"); // undefined
 * ```
 */
export function parseGoNumber(s: string): number | bigint | undefined {
  if (s.length > 4096) return undefined;
  if (/^[+-]*(inf|infinity|nan)$/i.test(s)) return undefined;
  const m =
    /^([+-]?)(?:0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)|([0-9_]*)(?:\.([0-9_]*))?(?:[eE]([+-]?[0-9_]+))?)$/.exec(
      s,
    );
  if (m === null) return undefined;
  if (s.includes("_") && !underscoreOK(s)) return undefined;
  const clean = (x: string | undefined): string => (x ?? "").replace(/_/g, "");
  const [, sign, hexInt, hexFrac, hexExp, decInt, decFrac, decExp] = m;
  if (hexExp !== undefined) {
    const int = clean(hexInt);
    const frac = clean(hexFrac);
    if (int === "" && frac === "") return undefined;
    const exp = Number(clean(hexExp)) - 4 * frac.length;
    const mant = BigInt(`0x${int}${frac}` === "0x" ? "0" : `0x${int}${frac}`);
    if (Math.abs(exp) > 4096) return mant === 0n ? 0 : exp < 0 ? 0 : undefined;
    let value: number | bigint;
    if (exp >= 0) {
      const n = mant << BigInt(exp);
      if (Number(n) === Number.POSITIVE_INFINITY) return undefined;
      value = n;
    } else value = Number(mant) / 2 ** -exp;
    return canonicalNumber(sign === "-" && value !== 0 ? -value : value);
  }
  const int = clean(decInt);
  const frac = clean(decFrac);
  if (int === "" && frac === "") return undefined;
  const exp = decExp === undefined ? "" : `e${clean(decExp)}`;
  const text = `${sign}${int === "" ? "0" : int}.${frac === "" ? "0" : frac}${exp}`;
  // Go refuses values beyond float64's range; underflow rounds to zero.
  if (!Number.isFinite(Number(text))) return undefined;
  return decimalValue(text) ?? Number(text);
}
