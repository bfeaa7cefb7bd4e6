/**
 * `time.parse_rfc3339_ns` as OPA computes it: Go's `time.Parse(time.RFC3339, s)`, which is more
 * lenient than RFC 3339 — a one-digit hour (`T9:00:00Z`), a comma before the fraction, any
 * number of fraction digits (truncated to nanoseconds), zone offsets up to ±24:60 — and
 * stricter elsewhere (upper-case `T` and `Z`, two-digit month/day/minute/second). The result is
 * the Unix time in nanoseconds, which must fit an int64 (1677–2262) as in OPA.
 */

const INT64_MAX = (1n << 63n) - 1n;

const isDigit = (s: string, i: number): boolean => i < s.length && s[i]! >= "0" && s[i]! <= "9";

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Parses `s` as Go's `time.Parse(time.RFC3339, s)`; nanoseconds since the epoch, or `undefined`
 * where OPA raises an error (bad syntax, out of range, outside int64 nanoseconds).
 *
 * @example
 * ```ts
 * parseRfc3339Go("2026-01-01T9:00:00Z"); // 1767258000000000000n
 * ```
 */
export function parseRfc3339Go(s: string): bigint | undefined {
  let i = 0;
  // Two digits, or one when `fixed` is false (Go's getnum).
  const num = (fixed: boolean): number | undefined => {
    if (!isDigit(s, i)) return undefined;
    if (!isDigit(s, i + 1)) {
      if (fixed) return undefined;
      return Number(s[i++]);
    }
    const n = Number(s.slice(i, i + 2));
    i += 2;
    return n;
  };
  const lit = (c: string): boolean => s[i++] === c;
  if (!/^[0-9]{4}/.test(s)) return undefined;
  const year = Number(s.slice(0, 4));
  i = 4;
  if (!lit("-")) return undefined;
  const month = num(true);
  if (month === undefined || month < 1 || month > 12 || !lit("-")) return undefined;
  const day = num(true);
  if (day === undefined || !lit("T")) return undefined;
  const hour = num(false);
  if (hour === undefined || hour > 23 || !lit(":")) return undefined;
  const minute = num(true);
  if (minute === undefined || minute > 59 || !lit(":")) return undefined;
  const second = num(true);
  if (second === undefined || second > 59) return undefined;
  let nanos = 0n;
  if ((s[i] === "." || s[i] === ",") && isDigit(s, i + 1)) {
    let j = i + 1;
    while (isDigit(s, j)) j++;
    nanos = BigInt(s.slice(i + 1, Math.min(j, i + 10)).padEnd(9, "0"));
    i = j;
  }
  let offset = 0;
  if (s[i] === "Z") i++;
  else {
    if (s.length - i < 6 || s[i + 3] !== ":") return undefined;
    const sign = s[i];
    if (!isDigit(s, i + 1) || !isDigit(s, i + 2) || !isDigit(s, i + 4) || !isDigit(s, i + 5))
      return undefined;
    const hh = Number(s.slice(i + 1, i + 3));
    const mm = Number(s.slice(i + 4, i + 6));
    if (hh > 24 || mm > 60 || (sign !== "+" && sign !== "-")) return undefined;
    offset = (hh * 60 + mm) * 60 * (sign === "-" ? -1 : 1);
    i += 6;
  }
  if (i !== s.length || day < 1 || day > daysIn(month, year)) return undefined;
  const seconds =
    daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  const ns = BigInt(seconds) * 1_000_000_000n + nanos;
  return ns > INT64_MAX || ns < -INT64_MAX - 1n ? undefined : ns;
}
