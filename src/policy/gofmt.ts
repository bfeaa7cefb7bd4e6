/**
 * `sprintf` as OPA computes it: Go's `fmt.Sprintf` over the arguments as OPA hands them to Go —
 * integers as int64 (or *big.Int beyond), non-integers as float64, strings as strings, and every
 * other value as its Rego text (`[1, "a"]`, `{"k": 1}`, `set()`, `true`, `null`). Go's error
 * marks are reproduced (`%!s(int64=5)`, `%!d(MISSING)`, `%!(EXTRA int64=3)`, `%!(NOVERB)`).
 *
 * Supported: flags `+ - # 0 space`, width and precision (digits or `*`), and the verbs
 * `v s q d b o O x X c U e E f F g G t T %`. Explicit argument indexes (`%[1]d`) and the
 * hexadecimal/binary forms of non-integers (`%x` of 1.5) are refused (undefined), which fails closed.
 */
import { charge, strUnits } from "./meter.js";
import { formatFloat } from "./gofloat.js";
import { cpOffset, goQuote, runeCount } from "./gostrings.js";
import {
  canonicalText,
  isInteger,
  NumberText,
  type RegoObject,
  RegoSet,
  type Value,
} from "./values.js";

type Arg =
  | { type: "int64" | "*big.Int"; v: bigint }
  | { type: "float64"; v: number }
  | { type: "string"; v: string };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * A value's Rego text as OPA prints it (`%v` of a composite): strings quoted as Go does.
 *
 * @example
 * ```ts
 * regoText(["\u0001", 1]); // '["\\x01", 1]'
 * ```
 */
export function regoText(v: Value): string {
  charge(1);
  if (typeof v === "string") return goQuote(v);
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "bigint") return canonicalText(v);
  if (typeof v !== "object") return String(v);
  if (v instanceof NumberText) return v.text;
  if (Array.isArray(v)) return `[${v.map(regoText).join(", ")}]`;
  if (v instanceof RegoSet)
    return v.size === 0 ? "set()" : `{${v.sorted().map(regoText).join(", ")}}`;
  return `{${(v as RegoObject)
    .sorted()
    .map(([k, x]) => `${regoText(k)}: ${regoText(x)}`)
    .join(", ")}}`;
}

function intArg(b: bigint): Arg {
  return { type: b < INT64_MIN || b > INT64_MAX ? "*big.Int" : "int64", v: b };
}

/**
 * The Go operand OPA 1.22.3 makes of a number, decided by its kept text (checked against `opa`):
 * digits → int64 (or *big.Int); other text without `.`, `e` or `E` (`1_000`, `0x1p4`) → the
 * text as a string; otherwise a float64, or the text when beyond float64's range (`1e400`).
 */
function toArg(v: Value): Arg {
  if (typeof v === "number" || typeof v === "bigint")
    return isInteger(v) ? intArg(BigInt(v)) : { type: "float64", v: Number(v) };
  if (v instanceof NumberText) {
    if (/^[+-]?[0-9]+$/.test(v.text)) return intArg(BigInt(v.value));
    if (!/[.eE]/.test(v.text)) return { type: "string", v: v.text };
    const f = Number(v.value);
    return Number.isFinite(f) ? { type: "float64", v: f } : { type: "string", v: v.text };
  }
  if (typeof v === "string") return { type: "string", v };
  return { type: "string", v: regoText(v) };
}

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | undefined;
  prec: number | undefined;
}

function pad(s: string, f: Spec, numeric: boolean): string {
  const width = f.width ?? 0;
  if (s.length >= width) return s;
  const len = runeCount(s);
  if (len >= width) return s;
  const fill = width - len;
  if (f.minus) return s + " ".repeat(fill);
  if (f.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : "";
    const rest = s.slice(sign.length);
    const prefix = /^0[xXbo]/.test(rest) && f.sharp ? rest.slice(0, 2) : "";
    return sign + prefix + "0".repeat(fill) + rest.slice(prefix.length);
  }
  return " ".repeat(fill) + s;
}

function signed(digits: string, neg: boolean, f: Spec): string {
  return (neg ? "-" : f.plus ? "+" : f.space ? " " : "") + digits;
}

function fmtInt(x: bigint, verb: string, f: Spec): string | undefined {
  const neg = x < 0n;
  const abs = neg ? -x : x;
  let digits: string;
  switch (verb) {
    case "v":
    case "d":
      digits = abs.toString(10);
      break;
    case "b":
      digits = abs.toString(2);
      break;
    case "o":
      digits = (f.sharp && abs !== 0n ? "0" : "") + abs.toString(8);
      break;
    case "O":
      digits = `0o${abs.toString(8)}`;
      break;
    case "x":
      digits = (f.sharp ? "0x" : "") + abs.toString(16);
      break;
    case "X":
      digits = (f.sharp ? "0X" : "") + abs.toString(16).toUpperCase();
      break;
    case "c":
      return pad(abs > 0x10ffffn || neg ? "\ufffd" : String.fromCodePoint(Number(abs)), f, false);
    case "q":
      return pad(
        abs > 0x10ffffn || neg
          ? "'\ufffd'"
          : `'${goQuote(String.fromCodePoint(Number(abs))).slice(1, -1)}'`,
        f,
        false,
      );
    case "U":
      return pad(`U+${abs.toString(16).toUpperCase().padStart(4, "0")}`, f, false);
    default:
      return undefined;
  }
  if (f.prec !== undefined) {
    if (f.prec === 0 && abs === 0n) digits = "";
    else digits = digits.padStart(f.prec, "0");
    return pad(signed(digits, neg, f), { ...f, zero: false }, true);
  }
  return pad(signed(digits, neg, f), f, true);
}

function fmtFloat(x: number, verb: string, f: Spec): string | undefined {
  let body: string;
  const neg = x < 0 || Object.is(x, -0);
  switch (verb) {
    case "v":
    case "g":
    case "G":
      body = formatFloat(x, "g", f.prec ?? -1);
      break;
    case "e":
    case "E":
      body = formatFloat(x, "e", f.prec ?? 6);
      break;
    case "f":
    case "F":
      body = formatFloat(x, "f", f.prec ?? 6);
      break;
    default:
      return undefined;
  }
  if (verb === "G" || verb === "E") body = body.toUpperCase();
  return pad(signed(body, neg, f), f, true);
}

function fmtString(s: string, verb: string, f: Spec): string | undefined {
  const cut = f.prec === undefined ? s : s.slice(0, cpOffset(s, f.prec));
  switch (verb) {
    case "v":
    case "s":
      return pad(cut, f, false);
    case "q":
      return pad(goQuote(cut), f, false);
    case "x":
    case "X": {
      const hex = Buffer.from(cut).toString("hex");
      return pad(verb === "X" ? hex.toUpperCase() : hex, f, false);
    }
    default:
      return undefined;
  }
}

function plain(a: Arg): string {
  if (a.type === "float64") return formatFloat(a.v, "g", -1).replace(/^/, a.v < 0 ? "-" : "");
  return String(a.v);
}

function formatArg(a: Arg, verb: string, f: Spec): string {
  if (verb === "T") return pad(a.type, f, false);
  const out =
    a.type === "string"
      ? fmtString(a.v, verb, f)
      : a.type === "float64"
        ? fmtFloat(a.v, verb, f)
        : fmtInt(a.v, verb === "s" && a.type === "*big.Int" ? "d" : verb, f);
  if (out !== undefined) return out;
  if (a.type === "*big.Int") return `%!${verb}(big.Int=${a.v})`;
  // Go prints the operand of a bad verb as %v with the same flags, width and precision.
  return `%!${verb}(${a.type}=${formatArg(a, "v", f)})`;
}

/**
 * Go's `fmt.Sprintf(format, args...)` over Rego values as OPA converts them; `undefined` for what
 * is not reproduced (explicit argument indexes).
 *
 * @example
 * ```ts
 * goSprintf("seats %s", [5]); // "seats %!s(int64=5)"
 * ```
 */
export function goSprintf(format: string, values: Value[]): string | undefined {
  let size = format.length;
  for (const v of values) if (typeof v === "string") size += v.length;
  charge(strUnits(size) + values.length);
  const args = values.map(toArg);
  let argNum = 0;
  let out = "";
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Spec = {
      plus: false,
      minus: false,
      sharp: false,
      zero: false,
      space: false,
      width: undefined,
      prec: undefined,
    };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === "+") f.plus = true;
      else if (c === "-") f.minus = true;
      else if (c === "#") f.sharp = true;
      else if (c === "0") f.zero = !f.minus;
      else if (c === " ") f.space = true;
      else break;
    }
    if (format[i] === "[") return undefined;
    const number = (): number | undefined | "bad" => {
      if (format[i] === "*") {
        i++;
        const a = args[argNum++];
        if (a === undefined || a.type !== "int64" || a.v > 1000000n || a.v < -1000000n)
          return "bad";
        return Number(a.v);
      }
      const m = /^[0-9]+/.exec(format.slice(i, i + 8));
      if (m === null) return undefined;
      i += m[0].length;
      return Number(m[0]) > 1000000 ? "bad" : Number(m[0]);
    };
    const w = number();
    if (w === "bad") out += "%!(BADWIDTH)";
    else if (w !== undefined) {
      f.width = Math.abs(w);
      if (w < 0) f.minus = true;
    }
    if (format[i] === ".") {
      i++;
      const p = number();
      if (p === "bad" || (typeof p === "number" && p < 0)) out += "%!(BADPREC)";
      else f.prec = p ?? 0;
    }
    if (format[i] === "[") return undefined;
    if (i >= format.length) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (f.width !== undefined || f.prec !== undefined)
      charge(strUnits((f.width ?? 0) + (f.prec ?? 0)));
    if (verb === "%") {
      out += "%";
      continue;
    }
    const a = args[argNum++];
    // Go's hexadecimal and binary float formats (%x of 1.5 is 0x1.8p+00) are not reproduced.
    if (a?.type === "float64" && "xXb".includes(verb)) return undefined;
    out += a === undefined ? `%!${verb}(MISSING)` : formatArg(a, verb, f);
  }
  if (argNum < args.length) {
    out += `%!(EXTRA ${args
      .slice(argNum)
      .map((a) => `${a.type === "*big.Int" ? "*big.Int" : a.type}=${plain(a)}`)
      .join(", ")})`;
  }
  charge(strUnits(out.length));
  return out;
}
