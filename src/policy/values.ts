/**
 * The Rego value model of the embedded engine: JSON values plus sets and non-string object keys.
 *
 * Numbers are kept in one canonical form so that equal numbers are represented identically
 * (needed for set/object keys): integers within ±2^53 are JS numbers, larger integers are
 * bigints (so `time.now_ns()` stays exact), non-integers are IEEE doubles.
 *
 * OPA also keeps a number's text (a literal as written, an input number as in the JSON, the string
 * given to `to_number`) and prints that text (`sprintf("%v", [[1.0]])` is `[1.0]`; `%v` of `1e21`
 * is Go's float64 `1e+21` because the text is not an integer). Where that text is not the canonical
 * text of the value ({@link canonicalText}) the number is a {@link NumberText}; equality, order,
 * hashing and arithmetic see only the value.
 */

import { formatFloat } from "./gofloat.js";
import { charge } from "./meter.js";

/**
 * Work units for sorting `n` values (n log n comparisons).
 *
 * @example
 * ```ts
 * sortUnits(1024); // 10240
 * ```
 */
export function sortUnits(n: number): number {
  return n < 2 ? 1 : n * Math.ceil(Math.log2(n));
}

/** A Rego value. Objects, sets and numbers with text are the classes below; everything else is a JS primitive or array. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Value[]
  | RegoObject
  | RegoSet
  | NumberText;

/**
 * A number whose OPA text differs from the canonical text of its value (`1.0`, `1e21`, `03`, an
 * input's `2.5e+21`): the value (canonical form) for every computation, the text for printing and
 * for Go's integer test in `sprintf` (only text of digits is an integer there).
 *
 * @example
 * ```ts
 * const n = new NumberText(1, "1.0");
 * valueEquals(n, 1); // true
 * ```
 */
export class NumberText {
  constructor(
    readonly value: number | bigint,
    readonly text: string,
  ) {}
}

/**
 * The text OPA gives a computed number: integers in decimal digits, others as Go's shortest `%g`
 * (OPA formats arithmetic results with `big.Float.Text`, `'f'` for integers and `'g'` otherwise).
 *
 * @example
 * ```ts
 * canonicalText(2e-7); // "2e-07"
 * canonicalText(10n ** 21n); // "1000000000000000000000"
 * ```
 */
export function canonicalText(n: number | bigint): string {
  if (typeof n === "bigint" || Number.isInteger(n)) return String(n);
  return (n < 0 ? "-" : "") + formatFloat(n, "g", -1);
}

/**
 * A number value with the text OPA keeps for it: a {@link NumberText} only when the text is not
 * the canonical one.
 *
 * @example
 * ```ts
 * withText(1, "1.0"); // NumberText(1, "1.0")
 * withText(1, "1"); // 1
 * ```
 */
export function withText(value: number | bigint, text: string): number | bigint | NumberText {
  return text === canonicalText(value) ? value : new NumberText(value, text);
}

/**
 * The numeric value of a Rego number (either form); `undefined` for other values.
 *
 * @example
 * ```ts
 * asNumber(new NumberText(1, "1.0")); // 1
 * asNumber("1"); // undefined
 * ```
 */
export function asNumber(v: Value | undefined): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  return v instanceof NumberText ? v.value : undefined;
}

/**
 * A Rego object: insertion-ordered map from canonical key to `[key, value]`.
 *
 * @example
 * ```ts
 * const o = new RegoObject();
 * o.set("tier", "pro");
 * o.get("tier"); // "pro"
 * ```
 */
export class RegoObject {
  readonly entries = new Map<string, [Value, Value]>();

  /** Looks a key up; `undefined` when absent. */
  get(key: Value): Value | undefined {
    return this.entries.get(valueKey(key))?.[1];
  }

  /** Adds or replaces a key. */
  set(key: Value, value: Value): void {
    this.entries.set(valueKey(key), [key, value]);
    this.#sorted = undefined;
  }

  #sorted: [Value, Value][] | undefined;

  /** Entries in OPA's order (sorted by key), as OPA iterates objects; cached until the next `set`. */
  sorted(): [Value, Value][] {
    if (this.#sorted === undefined) {
      charge(sortUnits(this.entries.size));
      this.#sorted = [...this.entries.values()].sort((x, y) => compareValues(x[0], y[0]));
    }
    return this.#sorted;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * A Rego set of values.
 *
 * @example
 * ```ts
 * new RegoSet(["a", "b", "a"]).size; // 2
 * ```
 */
export class RegoSet {
  readonly items = new Map<string, Value>();

  constructor(values: Iterable<Value> = []) {
    for (const v of values) this.add(v);
  }

  add(value: Value): void {
    this.items.set(valueKey(value), value);
    this.#sorted = undefined;
  }

  #sorted: Value[] | undefined;

  /** Members in OPA's order; cached until the next `add`. */
  sorted(): Value[] {
    if (this.#sorted === undefined) {
      charge(sortUnits(this.items.size));
      this.#sorted = [...this.items.values()].sort(compareValues);
    }
    return this.#sorted;
  }

  has(value: Value): boolean {
    return this.items.has(valueKey(value));
  }

  get size(): number {
    return this.items.size;
  }
}

/**
 * Brings a JS number or bigint into canonical form (see module comment).
 *
 * @example
 * ```ts
 * canonicalNumber(5n); // 5
 * canonicalNumber(2 ** 60); // 1152921504606846976n
 * ```
 */
export function canonicalNumber(n: number | bigint): number | bigint {
  if (typeof n === "bigint") {
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n;
  }
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n);
  return Object.is(n, -0) ? 0 : n;
}

/**
 * The integer OPA 1.22.3 reads from an integer operand (an array index, `substring`'s and
 * `array.slice`'s bounds): an integral value whose kept text is digits with at most a zero
 * fraction (`1`, `01`, `1.0`, `1.`); `1e0` or `1_0` is not one (checked against `opa`).
 *
 * @example
 * ```ts
 * asIntegerOperand(new NumberText(1, "1.0")); // 1
 * asIntegerOperand(new NumberText(1, "1e0")); // undefined
 * ```
 */
export function asIntegerOperand(v: Value | undefined): number | bigint | undefined {
  const n = asNumber(v);
  if (n === undefined || !isInteger(n)) return undefined;
  if (v instanceof NumberText && !/^[+-]?[0-9]+(?:\.0*)?$/.test(v.text)) return undefined;
  return n;
}

/**
 * `arr[key]`: an integer operand ({@link asIntegerOperand}) within bounds.
 *
 * @example
 * ```ts
 * arrayAt(["a", "b"], 1); // "b"
 * ```
 */
export function arrayAt(arr: Value[], key: Value): Value | undefined {
  const i = asIntegerOperand(key);
  return typeof i === "number" && Number.isInteger(i) ? arr[i] : undefined;
}

/**
 * Whether a value is a Rego number (in either canonical form, or with its text).
 *
 * @example
 * ```ts
 * isNumber(3n); // true
 * ```
 */
export function isNumber(v: Value | undefined): v is number | bigint | NumberText {
  return typeof v === "number" || typeof v === "bigint" || v instanceof NumberText;
}

/**
 * Whether a number is integral.
 *
 * @example
 * ```ts
 * isInteger(2.5); // false
 * ```
 */
export function isInteger(v: number | bigint): boolean {
  return typeof v === "bigint" || Number.isInteger(v);
}

/**
 * A string identifying a value up to Rego equality; used as map key for sets and objects.
 *
 * @example
 * ```ts
 * valueKey(["a", 1]); // '["a",n1]'
 * ```
 */
export function valueKey(v: Value): string {
  if (v === null) return "z";
  switch (typeof v) {
    case "boolean":
      return v ? "t" : "f";
    case "number":
    case "bigint":
      return `n${String(v)}`;
    case "string":
      if (v.length > 64) charge(v.length >>> 6);
      return JSON.stringify(v);
  }
  if (v instanceof NumberText) return `n${String(v.value)}`;
  // Hashing walks the value as a tree: charge it, so a value sharing sub-values stays bounded in time.
  if (Array.isArray(v)) {
    charge(v.length + 1);
    return `[${v.map(valueKey).join(",")}]`;
  }
  charge(v.size + 1);
  if (v instanceof RegoSet) return `<${[...v.items.keys()].sort().join(",")}>`;
  const parts = [...v.entries.entries()].map(([k, [, val]]) => `${k}:${valueKey(val)}`);
  return `{${parts.sort().join(",")}}`;
}

/**
 * Rego equality, compared structurally (no key strings are built for the common cases).
 *
 * @example
 * ```ts
 * valueEquals([1, "a"], [1, "a"]); // true
 * ```
 */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a instanceof NumberText || b instanceof NumberText) {
    // Equal values have one canonical representation, whatever their texts.
    const x = asNumber(a);
    return x !== undefined && x === asNumber(b);
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  charge(1 + (Array.isArray(a) ? a.length : a.size));
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => valueEquals(x, b[i]!));
  if (a instanceof RegoObject) {
    if (!(b instanceof RegoObject) || a.size !== b.size) return false;
    for (const [k, [, v]] of a.entries) {
      const other = b.entries.get(k);
      if (other === undefined || !valueEquals(v, other[1])) return false;
    }
    return true;
  }
  if (!(b instanceof RegoSet) || a.size !== b.size) return false;
  for (const k of a.items.keys()) if (!b.items.has(k)) return false;
  return true;
}

/** Sort rank of each type, as OPA's total order across types (null < boolean < number < string < array < object < set). */
function typeRank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return 1;
    case "number":
    case "bigint":
      return 2;
    case "string":
      return 3;
  }
  if (v instanceof NumberText) return 2;
  if (Array.isArray(v)) return 6;
  return v instanceof RegoSet ? 8 : 7;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  // Mixed forms: a bigint is beyond ±2^53 and a non-integer double is within it, so doubles order them.
  const x = Number(a);
  const y = Number(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  // Go compares UTF-8 bytes; JS compares UTF-16 units, which differ only past the BMP.
  if (/[\ud800-\udfff]/.test(a + b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * OPA's total order over values (used by `<`, `sort`, `max`, set iteration order).
 *
 * @example
 * ```ts
 * compareValues(1, "a") < 0; // true: numbers sort before strings
 * ```
 */
export function compareValues(a: Value, b: Value): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return Number(a) - Number(b);
    case 2:
      return compareNumbers(asNumber(a)!, asNumber(b)!);
    case 3:
      return compareStrings(a as string, b as string);
    case 6:
      return compareSequences(a as Value[], b as Value[]);
    case 8:
      return compareSequences((a as RegoSet).sorted(), (b as RegoSet).sorted());
  }
  const ea = sortedEntries(a as RegoObject);
  const eb = sortedEntries(b as RegoObject);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    const c = compareValues(ea[i]![0], eb[i]![0]) || compareValues(ea[i]![1], eb[i]![1]);
    if (c !== 0) return c;
  }
  return ea.length - eb.length;
}

function compareSequences(a: Value[], b: Value[]): number {
  charge(1 + Math.min(a.length, b.length));
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * Object entries sorted by key in OPA's order.
 *
 * @example
 * ```ts
 * sortedEntries(fromJS({ b: 1, a: 2 }) as RegoObject); // [["a", 2], ["b", 1]]
 * ```
 */
export function sortedEntries(o: RegoObject): [Value, Value][] {
  return o.sorted();
}

/**
 * Set members sorted in OPA's order.
 *
 * @example
 * ```ts
 * sortedSet(new RegoSet([3, 1])); // [1, 3]
 * ```
 */
export function sortedSet(s: RegoSet): Value[] {
  return s.sorted();
}

/**
 * OPA's `type_name` of a value.
 *
 * @example
 * ```ts
 * typeName(new RegoSet()); // "set"
 * ```
 */
export function typeName(v: Value): string {
  return ["null", "boolean", "number", "string", "", "", "array", "object", "set"][typeRank(v)]!;
}

/**
 * Converts a JSON-like JS value (plain objects, arrays, strings, finite numbers, bigints, booleans, null)
 * to a Rego value. Throws `TypeError` for anything else, since the input document is built by callers.
 *
 * @example
 * ```ts
 * fromJS({ tensors: ["w"] }) instanceof RegoObject; // true
 * ```
 */
export function fromJS(x: unknown, depth = 0): Value {
  if (depth > 200) throw new RangeError("policy input nests deeper than 200 levels");
  if (x === null || typeof x === "boolean" || typeof x === "string") return x;
  if (typeof x === "bigint") return canonicalNumber(x);
  if (typeof x === "number") {
    if (!Number.isFinite(x)) throw new TypeError("policy input numbers must be finite");
    // OPA reads the input's JSON text, which for a JS number is String(x) (JSON.stringify).
    return withText(canonicalNumber(x), String(x));
  }
  if (Array.isArray(x)) return x.map((e) => fromJS(e, depth + 1));
  if (typeof x === "object") {
    const o = new RegoObject();
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
      if (v !== undefined) o.set(k, fromJS(v, depth + 1));
    }
    return o;
  }
  throw new TypeError(`policy input cannot hold a ${typeof x}`);
}

/**
 * Converts a Rego value to JSON-like JS (sets become sorted arrays, non-string keys are JSON-encoded).
 *
 * @example
 * ```ts
 * toJS(new RegoSet([2, 1])); // [1, 2]
 * ```
 */
export function toJS(v: Value): unknown {
  if (Array.isArray(v)) return v.map(toJS);
  if (v instanceof NumberText) return v.value;
  if (v instanceof RegoSet) return sortedSet(v).map(toJS);
  if (v instanceof RegoObject) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of sortedEntries(v))
      out[typeof k === "string" ? k : JSON.stringify(toJS(k))] = toJS(val);
    return out;
  }
  return v;
}
