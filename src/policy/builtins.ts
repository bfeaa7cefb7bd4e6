/**
 * Builtin functions and operators of the embedded engine, with OPA's static argument types.
 * A builtin returns `undefined` where OPA raises a builtin error: OPA's default (non-strict)
 * evaluation turns those into an undefined expression, so ours does the same.
 */
import {
  canonicalNumber,
  compareValues,
  isInteger,
  isNumber,
  RegoObject,
  RegoSet,
  sortedEntries,
  sortedSet,
  typeName,
  valueEquals,
  type Value,
} from "./values.js";

/**
 * Static type bit masks (a union of types is their OR).
 *
 * @example
 * ```ts
 * (T.arr | T.set) & T.arr; // non-zero: an array is accepted
 * ```
 */
export const T = { null: 1, bool: 2, num: 4, str: 8, arr: 16, obj: 32, set: 64, any: 127 } as const;

export interface Builtin {
  /** Accepted type mask per argument (OPA's declared signature). */
  args: number[];
  /** Possible result types. */
  result: number;
  fn: (args: Value[], ctx: BuiltinContext) => Value | undefined;
}

export interface BuiltinContext {
  /** Nanoseconds since the epoch, fixed once per evaluation as OPA does. */
  nowNs: bigint;
}

type Num = number | bigint;

function arith(a: Num, b: Num, op: "+" | "-" | "*"): Num {
  if (typeof a === "number" && typeof b === "number") {
    const r = op === "+" ? a + b : op === "-" ? a - b : a * b;
    if (!Number.isInteger(a) || !Number.isInteger(b) || Number.isSafeInteger(r))
      return canonicalNumber(r);
  }
  if (isInteger(a) && isInteger(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return canonicalNumber(op === "+" ? x + y : op === "-" ? x - y : x * y);
  }
  const x = Number(a);
  const y = Number(b);
  return canonicalNumber(op === "+" ? x + y : op === "-" ? x - y : x * y);
}

function numeric(f: (a: Num, b: Num) => Value | undefined): Builtin["fn"] {
  return ([a, b]) => (isNumber(a) && isNumber(b) ? f(a, b) : undefined);
}

function str(f: (...s: string[]) => Value | undefined): Builtin["fn"] {
  return (args) =>
    args.every((a) => typeof a === "string") ? f(...(args as string[])) : undefined;
}

function elements(v: Value): Value[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return sortedSet(v);
  return undefined;
}

function setOp(f: (a: RegoSet, b: RegoSet) => RegoSet): Builtin["fn"] {
  return ([a, b]) => (a instanceof RegoSet && b instanceof RegoSet ? f(a, b) : undefined);
}

/** `%v` rendering as OPA's sprintf produces it: Rego syntax, objects and sets in sorted order. */
function formatValue(v: Value, nested = false): string {
  if (typeof v === "string") return nested ? JSON.stringify(v) : v;
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, true)).join(", ")}]`;
  if (v instanceof RegoSet)
    return v.size === 0
      ? "set()"
      : `{${sortedSet(v)
          .map((x) => formatValue(x, true))
          .join(", ")}}`;
  return `{${sortedEntries(v)
    .map(([k, x]) => `${formatValue(k, true)}: ${formatValue(x, true)}`)
    .join(", ")}}`;
}

function sprintf(format: string, args: Value[]): string | undefined {
  let n = 0;
  const out = format.replace(/%([%vsd])/g, (_m, verb: string) => {
    if (verb === "%") return "%";
    const a = args[n++];
    if (a === undefined) return `%!${verb}(MISSING)`;
    if (verb === "d" && !(isNumber(a) && isInteger(a))) {
      // Go's fmt marks a wrong operand inline rather than failing.
      // OPA hands non-integers to Go as float64 and everything else as its string form.
      return typeof a === "number" ? `%!d(float64=${a})` : `%!d(string=${formatValue(a)})`;
    }
    return formatValue(a);
  });
  // Verbs beyond %s/%v/%d (widths, %f, %x) follow Go's fmt rules we do not reproduce.
  if (/%[^%vsd]/.test(format.replace(/%%/g, ""))) return undefined;
  return n < args.length ? undefined : out;
}

// Go's time.RFC3339Nano layout as OPA parses it: upper-case T and Z only.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INT64_MAX = (1n << 63n) - 1n;

/** Parsed timestamps; policies parse the same constant or claim on every decision. */
const rfc3339Cache = new Map<string, bigint | undefined>();

function parseRfc3339Ns(s: string): bigint | undefined {
  if (rfc3339Cache.has(s)) return rfc3339Cache.get(s);
  const ns = parseRfc3339Uncached(s);
  if (rfc3339Cache.size >= 256) rfc3339Cache.delete(rfc3339Cache.keys().next().value!);
  rfc3339Cache.set(s, ns);
  return ns;
}

function parseRfc3339Uncached(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > new Date(Date.UTC(y, mo, 0)).getUTCDate() ||
    h > 23 ||
    mi > 59 ||
    se > 59
  )
    return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  let ns = BigInt(date.getTime()) * 1_000_000n + BigInt((m[7] ?? ".0").slice(1).padEnd(9, "0"));
  const zone = m[8]!;
  if (zone !== "Z") {
    const sign = zone[0] === "-" ? -1n : 1n;
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 24 || minutes > 59) return undefined;
    ns -= sign * BigInt(hours * 60 + minutes) * 60_000_000_000n;
  }
  // Go's UnixNano is an int64: times outside 1677–2262 are an error in OPA (undefined here).
  return ns > INT64_MAX || ns < -INT64_MAX - 1n ? undefined : ns;
}

/** Translates a glob with OPA's semantics (`*` within a segment, `**` across, `?`, `[...]`, `{a,b}`) to a RegExp. */
function globToRegExp(pattern: string, delimiters: string[]): RegExp | undefined {
  const delims = delimiters.map((d) => d.replace(/[\\\]^-]/g, "\\$&")).join("");
  const notDelim = delims === "" ? "[^]" : `[^${delims}]`;
  let re = "";
  let inAlt = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        re += "[^]*";
        i++;
      } else re += `${notDelim}*`;
    } else if (c === "?") re += notDelim;
    else if (c === "\\") {
      const n = pattern[++i];
      if (n === undefined) return undefined;
      re += n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) return undefined;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "{") {
      re += "(?:";
      inAlt++;
    } else if (c === "}" && inAlt > 0) {
      re += ")";
      inAlt--;
    } else if (c === "," && inAlt > 0) re += "|";
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  if (inAlt > 0) return undefined;
  try {
    return new RegExp(`^${re}$`, "s");
  } catch {
    return undefined;
  }
}

const IS = (type: string): Builtin => ({
  args: [T.any],
  result: T.bool,
  fn: ([v]) => typeName(v!) === type,
});

/**
 * Builtins by OPA name; operators are listed under their OPA builtin names.
 *
 * @example
 * ```ts
 * BUILTINS["startswith"]!.fn(["model.w", "model."], { nowNs: 0n }); // true
 * ```
 */
export const BUILTINS: Record<string, Builtin> = {
  equal: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => valueEquals(a!, b!) },
  neq: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => !valueEquals(a!, b!) },
  lt: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => compareValues(a!, b!) < 0 },
  lte: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => compareValues(a!, b!) <= 0 },
  gt: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => compareValues(a!, b!) > 0 },
  gte: { args: [T.any, T.any], result: T.bool, fn: ([a, b]) => compareValues(a!, b!) >= 0 },
  plus: { args: [T.num, T.num], result: T.num, fn: numeric((a, b) => arith(a, b, "+")) },
  minus: {
    args: [T.num | T.set, T.num | T.set],
    result: T.num | T.set,
    fn: ([a, b]) => {
      if (a instanceof RegoSet && b instanceof RegoSet)
        return new RegoSet([...a.items.values()].filter((x) => !b.has(x)));
      return isNumber(a) && isNumber(b) ? arith(a, b, "-") : undefined;
    },
  },
  mul: { args: [T.num, T.num], result: T.num, fn: numeric((a, b) => arith(a, b, "*")) },
  div: {
    args: [T.num, T.num],
    result: T.num,
    fn: numeric((a, b) => {
      if (Number(b) === 0) return undefined;
      if (isInteger(a) && isInteger(b) && BigInt(a) % BigInt(b) === 0n)
        return canonicalNumber(BigInt(a) / BigInt(b));
      return canonicalNumber(Number(a) / Number(b));
    }),
  },
  rem: {
    args: [T.num, T.num],
    result: T.num,
    fn: numeric((a, b) =>
      isInteger(a) && isInteger(b) && Number(b) !== 0
        ? canonicalNumber(BigInt(a) % BigInt(b))
        : undefined,
    ),
  },
  or: {
    args: [T.set, T.set],
    result: T.set,
    fn: setOp((a, b) => new RegoSet([...a.items.values(), ...b.items.values()])),
  },
  and: {
    args: [T.set, T.set],
    result: T.set,
    fn: setOp((a, b) => new RegoSet([...a.items.values()].filter((x) => b.has(x)))),
  },
  count: {
    args: [T.str | T.arr | T.obj | T.set],
    result: T.num,
    fn: ([v]) => {
      if (typeof v === "string") return [...v].length;
      if (Array.isArray(v)) return v.length;
      return v instanceof RegoSet || v instanceof RegoObject ? v.size : undefined;
    },
  },
  sum: {
    args: [T.arr | T.set],
    result: T.num,
    fn: ([v]) => fold(v!, (a, b) => arith(a, b, "+"), 0),
  },
  max: { args: [T.arr | T.set], result: T.any, fn: ([v]) => extreme(v!, 1) },
  min: { args: [T.arr | T.set], result: T.any, fn: ([v]) => extreme(v!, -1) },
  abs: {
    args: [T.num],
    result: T.num,
    fn: ([v]) => (isNumber(v) ? (Number(v) < 0 ? arith(0, v, "-") : v) : undefined),
  },
  startswith: { args: [T.str, T.str], result: T.bool, fn: str((s, p) => s!.startsWith(p!)) },
  endswith: { args: [T.str, T.str], result: T.bool, fn: str((s, p) => s!.endsWith(p!)) },
  contains: { args: [T.str, T.str], result: T.bool, fn: str((s, p) => s!.includes(p!)) },
  lower: { args: [T.str], result: T.str, fn: str((s) => s!.toLowerCase()) },
  upper: { args: [T.str], result: T.str, fn: str((s) => s!.toUpperCase()) },
  trim_space: {
    args: [T.str],
    result: T.str,
    fn: str((s) => s!.replace(/^[\s\u0085]+|[\s\u0085]+$/gu, "")),
  },
  split: {
    args: [T.str, T.str],
    result: T.arr,
    fn: str((s, d) => (d === "" ? [...s!] : s!.split(d!))),
  },
  replace: {
    args: [T.str, T.str, T.str],
    result: T.str,
    fn: str((s, o, n) => s!.split(o!).join(n!)),
  },
  concat: {
    args: [T.str, T.arr | T.set],
    result: T.str,
    fn: ([d, v]) => {
      const items = elements(v!);
      return typeof d === "string" && items?.every((x) => typeof x === "string")
        ? items.join(d)
        : undefined;
    },
  },
  sprintf: {
    args: [T.str, T.arr],
    result: T.str,
    fn: ([f, a]) => (typeof f === "string" && Array.isArray(a) ? sprintf(f, a) : undefined),
  },
  "object.get": {
    args: [T.obj, T.any, T.any],
    result: T.any,
    fn: ([o, k, d]) => {
      if (!(o instanceof RegoObject)) return undefined;
      const v = o.get(k!);
      return v === undefined ? d : v;
    },
  },
  "time.now_ns": { args: [], result: T.num, fn: (_a, ctx) => canonicalNumber(ctx.nowNs) },
  "time.parse_rfc3339_ns": {
    args: [T.str],
    result: T.num,
    fn: str((s) => {
      const ns = parseRfc3339Ns(s!);
      return ns === undefined ? undefined : canonicalNumber(ns);
    }),
  },
  "glob.match": {
    args: [T.str, T.arr | T.null, T.str],
    result: T.bool,
    fn: ([p, d, s]) => {
      // OPA: null means no delimiters, an empty array means ["."]; each delimiter is one character.
      const delims =
        d === null
          ? []
          : Array.isArray(d) && d.every((x) => typeof x === "string" && [...x].length === 1)
            ? [...(d as string[])]
            : undefined;
      if (delims?.length === 0 && d !== null) delims.push(".");
      if (typeof p !== "string" || typeof s !== "string" || delims === undefined) return undefined;
      return globToRegExp(p, delims)?.test(s);
    },
  },
  sort: {
    args: [T.arr | T.set],
    result: T.arr,
    fn: ([v]) => elements(v!)?.slice().sort(compareValues),
  },
  "array.concat": {
    args: [T.arr, T.arr],
    result: T.arr,
    fn: ([a, b]) => (Array.isArray(a) && Array.isArray(b) ? [...a, ...b] : undefined),
  },
  "array.slice": {
    args: [T.arr, T.num, T.num],
    result: T.arr,
    fn: ([a, start, stop]) => {
      if (
        !Array.isArray(a) ||
        !isNumber(start) ||
        !isNumber(stop) ||
        !isInteger(start) ||
        !isInteger(stop)
      )
        return undefined;
      const from = Math.max(0, Number(start));
      const to = Math.min(a.length, Number(stop));
      return from >= to ? [] : a.slice(from, to);
    },
  },
  "object.keys": {
    args: [T.obj],
    result: T.set,
    fn: ([o]) =>
      o instanceof RegoObject ? new RegoSet([...o.entries.values()].map(([k]) => k)) : undefined,
  },
  union: {
    args: [T.set],
    result: T.set,
    fn: ([v]) => setsOf(v!, (sets) => new RegoSet(sets.flatMap((x) => [...x.items.values()]))),
  },
  intersection: {
    args: [T.set],
    result: T.set,
    fn: ([v]) =>
      setsOf(v!, (sets) =>
        sets.length === 0
          ? new RegoSet()
          : new RegoSet([...sets[0]!.items.values()].filter((x) => sets.every((s) => s.has(x)))),
      ),
  },
  indexof: {
    args: [T.str, T.str],
    result: T.num,
    fn: str((s, sub) => {
      // OPA counts runes (code points), not UTF-16 units.
      const i = s!.indexOf(sub!);
      return i < 0 ? -1 : [...s!.slice(0, i)].length;
    }),
  },
  substring: {
    args: [T.str, T.num, T.num],
    result: T.str,
    fn: ([s, start, length]) => {
      if (
        typeof s !== "string" ||
        !isNumber(start) ||
        !isNumber(length) ||
        !isInteger(start) ||
        !isInteger(length) ||
        Number(start) < 0
      )
        return undefined;
      const runes = [...s];
      const from = Number(start);
      if (from >= runes.length) return "";
      return (
        Number(length) < 0 ? runes.slice(from) : runes.slice(from, from + Number(length))
      ).join("");
    },
  },
  to_number: {
    args: [T.null | T.bool | T.num | T.str],
    result: T.num,
    fn: ([v]) => {
      if (v === null) return 0;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (isNumber(v)) return v;
      if (
        typeof v !== "string" ||
        !/^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/.test(v)
      )
        return undefined;
      return /^-?[0-9]+$/.test(v) ? canonicalNumber(BigInt(v)) : canonicalNumber(Number(v));
    },
  },
  type_name: { args: [T.any], result: T.str, fn: ([v]) => typeName(v!) },
  is_string: IS("string"),
  is_number: IS("number"),
  is_boolean: IS("boolean"),
  is_array: IS("array"),
  is_object: IS("object"),
  is_set: IS("set"),
  is_null: IS("null"),
};

function fold(v: Value, f: (a: Num, b: Num) => Num, init: Num): Value | undefined {
  const items = elements(v);
  if (items === undefined || !items.every(isNumber)) return undefined;
  return (items as Num[]).reduce(f, init);
}

function setsOf(v: Value, f: (sets: RegoSet[]) => Value): Value | undefined {
  if (!(v instanceof RegoSet)) return undefined;
  const sets = [...v.items.values()];
  return sets.every((x) => x instanceof RegoSet) ? f(sets as RegoSet[]) : undefined;
}

function extreme(v: Value, sign: 1 | -1): Value | undefined {
  const items = elements(v);
  if (items === undefined || items.length === 0) return undefined;
  return items.reduce((best, x) => (compareValues(x, best) * sign > 0 ? x : best));
}
