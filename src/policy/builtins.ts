/**
 * Builtin functions and operators of the embedded engine, with OPA's static argument types.
 * A builtin returns `undefined` where OPA raises a builtin error: OPA's default (non-strict)
 * evaluation turns those into an undefined expression, so ours does the same.
 */
import { compileGlob, globMatch } from "./glob.js";
import { goSprintf } from "./gofmt.js";
import { parseGoNumber } from "./gonumber.js";
import { cpOffset, goLower, goTrimSpace, goUpper, runeCount } from "./gostrings.js";
import { parseRfc3339Go } from "./gotime.js";
import { charge, strUnits } from "./meter.js";
import {
  arrayAt,
  asIntegerOperand,
  asNumber,
  canonicalNumber,
  compareValues,
  isInteger,
  RegoObject,
  RegoSet,
  sortedSet,
  sortUnits,
  typeName,
  valueEquals,
  type Value,
  withText,
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
  return ([a, b]) => {
    const x = asNumber(a);
    const y = asNumber(b);
    return x !== undefined && y !== undefined ? f(x, y) : undefined;
  };
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
  return ([a, b]) => {
    if (!(a instanceof RegoSet && b instanceof RegoSet)) return undefined;
    charge(a.size + b.size);
    return f(a, b);
  };
}

/** Parsed timestamps; policies parse the same constant or claim on every decision. */
const rfc3339Cache = new Map<string, bigint | undefined>();

function parseRfc3339Ns(s: string): bigint | undefined {
  if (rfc3339Cache.has(s)) return rfc3339Cache.get(s);
  const ns = parseRfc3339Go(s);
  if (rfc3339Cache.size >= 256) rfc3339Cache.delete(rfc3339Cache.keys().next().value!);
  if (s.length <= 64) rfc3339Cache.set(s, ns);
  return ns;
}

/** Element lookup as OPA's `Term.Get`: array index, object key, set member. */
function getIn(coll: Value, key: Value): Value | undefined {
  if (Array.isArray(coll)) return arrayAt(coll, key);
  if (coll instanceof RegoObject) return coll.get(key);
  if (coll instanceof RegoSet) return coll.has(key) ? key : undefined;
  return undefined;
}

/** Non-overlapping occurrences of a non-empty `sub` in `s`, counted without allocating. */
function occurrences(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

/** Charges the string work of a builtin over `strings` (before it allocates its result). */
function chargeStrings(...strings: string[]): void {
  let n = 0;
  for (const x of strings) n += x.length;
  charge(strUnits(n));
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
      if (a instanceof RegoSet && b instanceof RegoSet) {
        charge(a.size);
        return new RegoSet([...a.items.values()].filter((x) => !b.has(x)));
      }
      const x = asNumber(a);
      const y = asNumber(b);
      return x !== undefined && y !== undefined ? arith(x, y, "-") : undefined;
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
      if (typeof v === "string") return runeCount(v);
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
    // OPA computes |v| as a new number: the result has canonical text (abs(-1.0) is 1).
    fn: ([v]) => {
      const x = asNumber(v);
      return x === undefined ? undefined : Number(x) < 0 ? arith(0, x, "-") : x;
    },
  },
  startswith: { args: [T.str, T.str], result: T.bool, fn: str((s, p) => s!.startsWith(p!)) },
  endswith: { args: [T.str, T.str], result: T.bool, fn: str((s, p) => s!.endsWith(p!)) },
  contains: {
    args: [T.str, T.str],
    result: T.bool,
    fn: str((s, p) => (chargeStrings(s!), s!.includes(p!))),
  },
  lower: { args: [T.str], result: T.str, fn: str((s) => goLower(s!)) },
  upper: { args: [T.str], result: T.str, fn: str((s) => goUpper(s!)) },
  trim_space: { args: [T.str], result: T.str, fn: str((s) => goTrimSpace(s!)) },
  split: {
    args: [T.str, T.str],
    result: T.arr,
    fn: str((s, d) => {
      if (d === "") {
        charge(runeCount(s!));
        return [...s!];
      }
      chargeStrings(s!);
      charge(occurrences(s!, d!));
      return s!.split(d!);
    }),
  },
  replace: {
    args: [T.str, T.str, T.str],
    result: T.str,
    fn: str((s, o, n) => {
      if (o === "") {
        // Go inserts at every byte boundary, producing invalid UTF-8 inside multi-byte characters:
        // refused (undefined) there, a deliberate difference (README).
        // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range check
        if (!/^[\x00-\x7f]*$/.test(s!)) return undefined;
        charge(strUnits(s!.length * (n!.length + 1) + n!.length));
        return s === "" ? n : n + [...s!].join(n!) + n;
      }
      // Output size before building it: occurrences × growth.
      chargeStrings(s!);
      const hits = occurrences(s!, o!);
      charge(strUnits(s!.length + hits * Math.max(0, n!.length - o!.length)));
      return s!.split(o!).join(n!);
    }),
  },
  concat: {
    args: [T.str, T.arr | T.set],
    result: T.str,
    fn: ([d, v]) => {
      const items = elements(v!);
      if (typeof d !== "string" || !items?.every((x) => typeof x === "string")) return undefined;
      let n = d.length * items.length;
      for (const x of items as string[]) n += x.length;
      charge(strUnits(n) + items.length);
      return items.join(d);
    },
  },
  sprintf: {
    args: [T.str, T.arr],
    result: T.str,
    fn: ([f, a]) => (typeof f === "string" && Array.isArray(a) ? goSprintf(f, a) : undefined),
  },
  "object.get": {
    args: [T.obj, T.any, T.any],
    result: T.any,
    fn: ([o, k, d]) => {
      if (!(o instanceof RegoObject)) return undefined;
      // An array key is a path into nested collections (OPA).
      if (!Array.isArray(k)) {
        const v = o.get(k!);
        return v === undefined ? d : v;
      }
      charge(k.length);
      let cur: Value | undefined = o;
      for (const seg of k) {
        cur = getIn(cur, seg);
        if (cur === undefined) break;
      }
      return cur === undefined ? d : cur;
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
      const g = compileGlob(p, delims);
      return g === undefined ? undefined : globMatch(g, s);
    },
  },
  sort: {
    args: [T.arr | T.set],
    result: T.arr,
    fn: ([v]) => {
      const items = elements(v!);
      if (items === undefined) return undefined;
      charge(sortUnits(items.length));
      return items.slice().sort(compareValues);
    },
  },
  "array.concat": {
    args: [T.arr, T.arr],
    result: T.arr,
    fn: ([a, b]) => {
      if (!Array.isArray(a) || !Array.isArray(b)) return undefined;
      charge(a.length + b.length);
      return [...a, ...b];
    },
  },
  "array.slice": {
    args: [T.arr, T.num, T.num],
    result: T.arr,
    fn: ([a, startArg, stopArg]) => {
      const start = asIntegerOperand(startArg);
      const stop = asIntegerOperand(stopArg);
      if (!Array.isArray(a) || start === undefined || stop === undefined) return undefined;
      const from = Math.max(0, Number(start));
      const to = Math.min(a.length, Number(stop));
      if (from >= to) return [];
      charge(to - from);
      return a.slice(from, to);
    },
  },
  "object.keys": {
    args: [T.obj],
    result: T.set,
    fn: ([o]) => {
      if (!(o instanceof RegoObject)) return undefined;
      charge(o.size);
      return new RegoSet([...o.entries.values()].map(([k]) => k));
    },
  },
  union: {
    args: [T.set],
    result: T.set,
    fn: ([v]) =>
      setsOf(v!, (sets) => {
        charge(sets.reduce((n, x) => n + x.size, 0));
        return new RegoSet(sets.flatMap((x) => [...x.items.values()]));
      }),
  },
  intersection: {
    args: [T.set],
    result: T.set,
    fn: ([v]) =>
      setsOf(v!, (sets) => {
        if (sets.length === 0) return new RegoSet();
        charge(sets[0]!.size * sets.length);
        return new RegoSet([...sets[0]!.items.values()].filter((x) => sets.every((s) => s.has(x))));
      }),
  },
  indexof: {
    args: [T.str, T.str],
    result: T.num,
    fn: str((s, sub) => {
      // OPA refuses an empty search string and counts runes (code points), not UTF-16 units.
      if (sub === "") return undefined;
      chargeStrings(s!);
      const i = s!.indexOf(sub!);
      return i < 0 ? -1 : runeCount(s!.slice(0, i));
    }),
  },
  substring: {
    args: [T.str, T.num, T.num],
    result: T.str,
    fn: ([s, startArg, lengthArg]) => {
      const start = asIntegerOperand(startArg);
      const length = asIntegerOperand(lengthArg);
      if (
        typeof s !== "string" ||
        start === undefined ||
        length === undefined ||
        !isInteger(start) ||
        !isInteger(length) ||
        Number(start) < 0
      )
        return undefined;
      chargeStrings(s);
      const from = cpOffset(s, Number(start));
      if (from >= s.length) return "";
      if (Number(length) < 0) return s.slice(from);
      return s.slice(from, from + cpOffset(s.slice(from), Number(length)));
    },
  },
  to_number: {
    args: [T.null | T.bool | T.num | T.str],
    result: T.num,
    fn: ([v]) => {
      if (v === null) return 0;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (asNumber(v) !== undefined) return v;
      if (typeof v !== "string") return undefined;
      chargeStrings(v);
      // Go's strconv.ParseFloat syntax ("03", "+3", ".5", "1_000", "0x1p4"), exact when integral;
      // OPA keeps the string as the number's text.
      const n = parseGoNumber(v);
      return n === undefined ? undefined : withText(n, v);
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
  const nums = items?.map(asNumber);
  if (nums === undefined || !nums.every((x) => x !== undefined)) return undefined;
  charge(nums.length);
  return (nums as Num[]).reduce(f, init);
}

function setsOf(v: Value, f: (sets: RegoSet[]) => Value): Value | undefined {
  if (!(v instanceof RegoSet)) return undefined;
  const sets = [...v.items.values()];
  return sets.every((x) => x instanceof RegoSet) ? f(sets as RegoSet[]) : undefined;
}

function extreme(v: Value, sign: 1 | -1): Value | undefined {
  const items = elements(v);
  if (items === undefined || items.length === 0) return undefined;
  charge(items.length);
  return items.reduce((best, x) => (compareValues(x, best) * sign > 0 ? x : best));
}
