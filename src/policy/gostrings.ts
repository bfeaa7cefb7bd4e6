/**
 * Go's string semantics where OPA's string builtins inherit them: simple (one code point to one
 * code point) case mapping of Unicode 15.0 (`strings.ToLower/ToUpper`), `unicode.IsSpace`
 * (`strings.TrimSpace`), and `strconv.Quote` (how OPA prints strings inside composite values).
 * JavaScript's own case mapping is the full one (`"ß".toUpperCase()` is `"SS"`), so we map code
 * point by code point and keep the few differences from Go's tables below.
 */
import { charge, strUnits } from "./meter.js";

/** Go maps these differently from a one-code-point JS mapping (checked against Go 1.26's tables). */
const LOWER_EXCEPTIONS = new Map<number, number>([[0x130, 0x69]]);
const UPPER_EXCEPTIONS = new Map<number, number>([
  ...[0x1f80, 0x1f90, 0x1fa0].flatMap((base) =>
    Array.from({ length: 8 }, (_, k) => [base + k, base + k + 8] as [number, number]),
  ),
  [0x1fb3, 0x1fbc],
  [0x1fc3, 0x1fcc],
  [0x1ff3, 0x1ffc],
]);

/** Code points JS (a newer Unicode than Go's 15.0) case-maps and Go leaves unchanged. */
function newerThanGo(c: number): boolean {
  return (
    c === 0x19b ||
    c === 0x264 ||
    c === 0x1c89 ||
    c === 0x1c8a ||
    (c >= 0xa7cb && c <= 0xa7dc) ||
    (c >= 0x10d50 && c <= 0x10d85) ||
    (c >= 0x16ea0 && c <= 0x16ed3)
  );
}

function mapCase(s: string, lower: boolean): string {
  charge(strUnits(s.length) * 4);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range check
  if (/^[\x00-\x7f]*$/.test(s)) return lower ? s.toLowerCase() : s.toUpperCase();
  const exceptions = lower ? LOWER_EXCEPTIONS : UPPER_EXCEPTIONS;
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const special = exceptions.get(c);
    if (special !== undefined) {
      out += String.fromCodePoint(special);
      continue;
    }
    if (newerThanGo(c)) {
      out += ch;
      continue;
    }
    const mapped = lower ? ch.toLowerCase() : ch.toUpperCase();
    // A mapping to several code points (ß → SS) is a full mapping; Go's simple mapping keeps the character.
    out += mapped.length === ch.length || [...mapped].length === 1 ? mapped : ch;
  }
  return out;
}

/**
 * Go's `strings.ToLower`.
 *
 * @example
 * ```ts
 * goLower("İSTANBUL"); // "istanbul"
 * ```
 */
export function goLower(s: string): string {
  return mapCase(s, true);
}

/**
 * Go's `strings.ToUpper`.
 *
 * @example
 * ```ts
 * goUpper("straße"); // "STRAßE"
 * ```
 */
export function goUpper(s: string): string {
  return mapCase(s, false);
}

const GO_SPACE = "\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
const TRIM_SPACE = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, "g");

/**
 * Go's `strings.TrimSpace` (`unicode.IsSpace`: no U+FEFF, unlike JavaScript's `trim`).
 *
 * @example
 * ```ts
 * goTrimSpace("\ufeffpro "); // "\ufeffpro"
 * ```
 */
export function goTrimSpace(s: string): string {
  charge(strUnits(s.length));
  return s.replace(TRIM_SPACE, "");
}

const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;

/**
 * Go's `strconv.Quote`: printable characters as they are, others escaped (`\x01`, `\u00a0`).
 *
 * @example
 * ```ts
 * goQuote("a\u0001"); // '"a\\x01"'
 * ```
 */
export function goQuote(s: string): string {
  charge(strUnits(s.length) * 2);
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c < 0x80 && c >= 0x20 && c !== 0x7f) out += ch;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else if (c >= 0x80 && PRINTABLE.test(ch)) out += ch;
    else {
      const named: Record<number, string> = {
        7: "\\a",
        8: "\\b",
        12: "\\f",
        10: "\\n",
        13: "\\r",
        9: "\\t",
        11: "\\v",
      };
      const hex = c.toString(16);
      out +=
        named[c] ??
        (c < 0x80
          ? `\\x${hex.padStart(2, "0")}`
          : c < 0x10000
            ? `\\u${hex.padStart(4, "0")}`
            : `\\U${hex.padStart(8, "0")}`);
    }
  }
  return `${out}"`;
}

/**
 * Number of code points (Go's rune count), without allocating.
 *
 * @example
 * ```ts
 * runeCount("a🚀"); // 2
 * ```
 */
export function runeCount(s: string): number {
  charge(strUnits(s.length));
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * UTF-16 offset of the code point at index `cp` (or `s.length` when beyond the end).
 *
 * @example
 * ```ts
 * cpOffset("🚀a", 1); // 2
 * ```
 */
export function cpOffset(s: string, cp: number): number {
  let i = 0;
  for (let k = 0; k < cp && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}
