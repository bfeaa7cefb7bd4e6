// fast-check generators of random policies and inputs within the supported subset (Rego v1 syntax).
import fc from "fast-check";

const strings = ["gpu-1", "free.a", "pro.b", "ABC", "", "a.b.c"];

/** Strings where Go and JavaScript differ: case mapping, spaces, code points beyond the BMP. */
const unicodeStrings = [
  "İSTANBUL",
  "straße",
  "ΟΔΥΣΣΕΥΣ",
  "ﬁnance",
  "ǅemal",
  "gpu-🚀",
  "\ufeffpro",
  "\u00a0x\u2028",
  "é.ü",
  "e\u0301",
  "K-ſ-ı",
  "ᾀ",
];

/** Unicode text: the strings above, random graphemes, or both joined. */
export const unicodeArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...unicodeStrings),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc
    .tuple(fc.constantFrom(...unicodeStrings), fc.constantFrom(...strings))
    .map(([a, b]) => `${a}${b}`),
);

/** Number text as Go's ParseFloat may or may not accept it (`to_number`). */
export const numberTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "03",
    "+3",
    "5.",
    ".5",
    "-.5",
    "00",
    "1_000",
    "0x1p4",
    "0x10",
    "1e400",
    "Inf",
    "NaN",
    "1__0",
    "_1",
    "1e",
    "",
    " 1",
    "0X1P-2",
    "1.e5",
  ),
  fc
    .tuple(
      fc.constantFrom("", "+", "-"),
      fc.stringMatching(/^[0-9_]{0,4}$/),
      fc.constantFrom("", ".", ".5", ".0_1"),
      fc.constantFrom("", "e3", "E-2", "e+1_0", "e"),
    )
    .map((parts) => parts.join("")),
);

/** Number literals in the forms OPA keeps as written (float notation, exponents, big integers). */
const numberLiteralArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "1.0",
    "1e21",
    "1E21",
    "10.0e0",
    "1e-7",
    "0.10",
    "2.5e21",
    "123456789012345678901234",
    ".5",
    "1e+2",
    "0.00001",
    "1234567.5",
    "1e400",
  ),
  fc
    .tuple(
      fc.constantFrom("0", "1", "25", "1000"),
      fc.constantFrom("", ".0", ".5", ".25", ".000"),
      fc.constantFrom("", "e0", "e3", "E-2", "e+21", "e-7"),
    )
    .map((parts) => parts.join("")),
);

/** JSON numbers whose text (JSON.stringify, as OPA reads the input) has a fraction or exponent. */
const inputNumberArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(1.0, 2.5e21, 1e21, 0.00001, 1e-7, 1234567.5, 0.1, -0, 1e300, 2 ** 60, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e25, max: 1e25 }),
);

/** Timestamps around Go's lenient RFC 3339 parsing. */
const timestampArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("2026-01-01", "2024-02-29", "2026-02-29", "2026-1-01"),
    fc.constantFrom("T", "t", " "),
    fc.constantFrom("9:00:00", "09:00:00", "23:59:59", "24:00:00", "00:0:00"),
    fc.constantFrom("", ".5", ",5", ".1234567891", "."),
    fc.constantFrom("Z", "z", "+01:00", "-24:00", "+01:60", "+25:00", "+0100", ""),
  )
  .map((parts) => parts.join(""));

/** Random input documents: fields may be missing or of unexpected types. */
export const inputArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    a: fc.oneof(
      fc.integer({ min: -3, max: 5 }),
      fc.constantFrom(...strings),
      fc.boolean(),
      fc.constant(null),
    ),
    b: fc.integer({ min: -3, max: 5 }),
    s: fc.constantFrom(...strings),
    xs: fc.array(fc.oneof(fc.integer({ min: -2, max: 4 }), fc.constantFrom(...strings)), {
      maxLength: 4,
    }),
    o: fc.record(
      { k: fc.integer({ min: 0, max: 3 }), t: fc.constantFrom(...strings) },
      { requiredKeys: [] },
    ),
    u: unicodeArb,
    n: numberTextArb,
    f: inputNumberArb,
    ts: timestampArb,
    // Keys in random insertion order, integer-like ones included (OPA iterates them sorted).
    m: fc.dictionary(
      fc.constantFrom("10", "2", "a", "B", "tier", "sub", "é"),
      fc.integer({ min: 0, max: 3 }),
      {
        maxKeys: 5,
      },
    ),
  },
  { requiredKeys: [] },
);

const q = (s: string): string => JSON.stringify(s);

function exprArb(vars: string[]): {
  num: fc.Arbitrary<string>;
  str: fc.Arbitrary<string>;
  any: fc.Arbitrary<string>;
  bool: fc.Arbitrary<string>;
} {
  const varArb = vars.length > 0 ? [fc.constantFrom(...vars)] : [];
  const numLeaf = fc.oneof(
    fc.integer({ min: -3, max: 9 }).map(String),
    fc.constantFrom(
      "input.b",
      "input.a",
      "input.xs[0]",
      "input.o.k",
      "count(input.xs)",
      "count(input.s)",
      "count(input.u)",
      "to_number(input.n) * 1",
      "indexof(input.u, input.s)",
      'object.get(input.m, "a", -1)',
      'object.get(input, ["o", "k"], 0)',
      "time.parse_rfc3339_ns(input.ts) % 7",
      "input.f",
    ),
    numberLiteralArb,
    numberLiteralArb.map((n) => `input.xs[${n}]`),
    ...varArb,
  );
  const num: fc.Arbitrary<string> = fc.oneof(
    { weight: 3, arbitrary: numLeaf },
    {
      weight: 1,
      arbitrary: fc
        .tuple(numLeaf, fc.constantFrom("+", "-", "*", "/", "%"), numLeaf)
        .map(([a, op, b]) => `(${a} ${op} ${b})`),
    },
  );
  const str = fc.oneof(
    fc.constantFrom(...strings).map(q),
    fc.constantFrom("input.s", "input.a", "input.o.t", "input.xs[1]", "input.u"),
    fc
      .constantFrom("lower", "upper", "trim_space")
      .chain((f) =>
        fc.constantFrom("input.s", "input.a", '"MiXed"', "input.u").map((x) => `${f}(${x})`),
      ),
    fc.constantFrom(
      'sprintf("%v|%s|%d", [input.a, input.b, input.xs])',
      'sprintf("%v %q", [input.u, input.u])',
      'sprintf("%5.1f|%x", [input.b, input.s])',
      'concat(",", [k | some k, _ in input.m])',
      "substring(input.u, 1, 2)",
      'replace(input.s, ".", input.u)',
      'sprintf("%v|%v|%T", [to_number(input.n), [to_number(input.n)], to_number(input.n)])',
      'sprintf("%v|%d|%v", [input.f, input.f, [input.f, input.o]])',
    ),
  );
  // How OPA prints a number: %v by its text's Go type, composites by the text itself.
  const printed = fc
    .tuple(num, num)
    .map(([a, b]) => `sprintf("%v|%d|%v|%.2f", [${a}, ${a}, [${b}, ${a}], ${b}])`);
  // Integer operands: OPA takes `1.0` but not `1e0` as an index or a substring bound.
  const indexed = num.map((n) => `substring("abcdef", 0, ${n})`);
  const strAll = fc.oneof(str, printed, indexed);
  const any = fc.oneof(
    num,
    strAll,
    fc.constantFrom("true", "null", "input.o", "input.xs", ...vars),
  );
  const cmp = fc.constantFrom("==", "!=", "<", "<=", ">", ">=");
  const bool = fc.oneof(
    fc.tuple(num, cmp, num).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(any, fc.constantFrom("==", "!=", "<"), any).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc
      .tuple(fc.constantFrom("startswith", "endswith", "contains"), str, str)
      .map(([f, a, b]) => `${f}(${a}, ${b})`),
    any.map((x) => `${x} in input.xs`),
    any.map((x) => `${x} in {1, "free.a", 3}`),
    fc.tuple(fc.constantFrom("is_number", "is_string"), any).map(([f, x]) => `${f}(${x})`),
    str.map((x) => `glob.match("*.a", ["."], ${x})`),
    fc
      .tuple(fc.constantFrom("?-*", "*.?", "[!a]*", "[^a]*", "{gpu,é}*", "?🚀*", "**"), str)
      .map(([p, x]) => `glob.match(${q(p)}, [], ${x})`),
    fc.constantFrom("input.a", "input.o.k", "h", "not_a_rule_value"),
    // `not` over references whose keys may be undefined (evaluated outside the negation, as OPA).
    fc.constantFrom(
      "not input.m[input.s]",
      "not input.xs[input.b]",
      "not input.m[input.a]",
      "not input.o[input.u]",
      "not input.m[input.o.t] == 1",
      "not startswith(input.o.t, input.s)",
      "not [input.a] == [1]",
    ),
    fc.constantFrom(
      '[k | some k, _ in input.m] == ["10", "2"]',
      "count([v | some _, v in input.m]) > 1",
    ),
  );
  return { num, str, any, bool };
}

/** A rule body: optional `some x in`, optional `y := …`, then 1–3 conditions (possibly negated or `every`). */
function bodyArb(): fc.Arbitrary<{ text: string; vars: string[] }> {
  return fc
    .record({ withSome: fc.boolean(), withAssign: fc.boolean(), withIndex: fc.boolean() })
    .chain(({ withSome, withAssign, withIndex }) => {
      const vars = [
        ...(withSome ? ["x"] : []),
        ...(withAssign ? ["y"] : []),
        ...(withIndex ? ["i"] : []),
      ];
      const e = exprArb(vars);
      const lit = fc.oneof(
        { weight: 4, arbitrary: e.bool },
        { weight: 1, arbitrary: e.bool.map((b) => `not ${b}`) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom("<", ">", "!="), exprArb([]).num)
            .map(([op, n]) => `every v in input.xs { v ${op} ${n} }`),
        },
      );
      const head = fc.tuple(exprArb([]).num, exprArb([]).any);
      return fc
        .tuple(head, fc.array(lit, { minLength: 1, maxLength: 3 }))
        .map(([[assigned, indexed], lits]) => {
          const pre = [
            ...(withSome ? ["some x in input.xs"] : []),
            ...(withAssign ? [`y := ${assigned}`] : []),
            ...(withIndex ? [`input.xs[i] == ${indexed}`] : []),
          ];
          return { text: `{\n  ${[...pre, ...lits].join("\n  ")}\n}`, vars };
        });
    });
}

/** A whole policy: a helper rule `h`, an optional default, and 1–3 definitions of `allow`. */
export const policyArb: fc.Arbitrary<string> = fc
  .tuple(
    bodyArb(),
    fc.option(fc.constantFrom("false", "true", "0", '"no"'), { nil: undefined }),
    fc.array(
      fc
        .tuple(bodyArb(), fc.constantFrom("none", "none", "const", "expr"))
        .chain(([body, kind]) => {
          if (kind === "none") return fc.constant(`allow if ${body.text}`);
          if (kind === "const")
            return fc
              .constantFrom("true", "false", "1")
              .map((v) => `allow := ${v} if ${body.text}`);
          return exprArb(body.vars).any.map((v) => `allow := ${v} if ${body.text}`);
        }),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([helper, dflt, allows]) =>
    [
      "package model",
      `h if ${helper.text}`,
      ...(dflt === undefined ? [] : [`default allow := ${dflt}`]),
      ...allows,
    ].join("\n"),
  );

/**
 * Policies exercising the rest of the subset: value helper rules, comprehensions, patterns,
 * composite literals, `k, v` iteration and membership, string builtins and `data.model` refs.
 */
export const structuredPolicyArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      "vals := [x | some x in input.xs]",
      "vals := {x | some x in input.xs; is_number(x)}",
      'vals := {k: v | some k, v in input.o; k != "t"}',
      "vals := [i | input.xs[i]]",
      "vals := input.xs",
      'vals := {"a": input.a, "b": input.b}',
      "vals := {1, 2, input.b}",
      "vals contains x if { some x in input.xs; x != 1 }",
      'vals[k] := v if { some k, v in input.o; k != "t" }',
      "vals[x] := 1 if { some x in input.xs }",
      'vals contains input.s if startswith(input.s, "gpu")\nvals contains 2',
    ),
    fc.constantFrom(
      "n := count(vals)",
      "n := sum([v | some v in input.xs; is_number(v)])",
      "n := max([0, input.b])",
      "n := input.b * 2",
      "n := count([k | some k, _ in input.o])",
      'n := count(split(input.s, "."))',
      "f(a) := a * 2 if a > 1\nf(a) := -1 if a <= 1\nn := f(count(vals))",
      "g([a, b]) := a\ng(a) := 0 if is_string(a)\nn := g(input.xs)",
    ),
    fc.array(
      fc.constantFrom(
        "n > 1",
        "count(vals) == n",
        "input.b in vals",
        "1, input.a in vals",
        '"a", input.a in vals',
        "[p, q] := [input.b, n]",
        '{"k": kk} = input.o',
        "data.model.n >= input.b",
        "not data.model.vals[0] == 1",
        "not input.b in vals",
        'startswith(concat(",", [input.s, "x"]), "gpu")',
        'sprintf("%v-%s", [n, input.s]) != ""',
        'lower(input.s) == trim_space(replace(input.s, "A", "a"))',
        "every k, v in input.o { k != v }",
        "some k, v in vals; v == input.b",
        "x := vals[_]; x == input.b",
        "y := {v | some v in vals} & {1, 2}; count(y) > 0",
        "z := [a | some a in vals; not is_string(a)]; count(z) < n",
        'object.get(input.o, "k", -1) == input.b',
        'type_name(vals) == "array"',
        "abs(input.b - n) < 3",
        "min(vals) == min(vals)",
      ),
      { minLength: 1, maxLength: 4 },
    ),
    fc.constantFrom("true", "n", "vals", "[n, count(vals)]", "{n}", "p", "x"),
    fc.boolean(),
    fc.constantFrom("", "", " else := false", " else := n", ' else := "e" if input.a'),
  )
  .map(([vals, n, lits, head, withDefault, elseBranch]) => {
    const bound = lits.join("\n  ");
    // A head may only use variables its body binds.
    const usable =
      head === "p" ? bound.includes("[p, q]") : head === "x" ? bound.includes("x := vals") : true;
    const value = usable ? head : "true";
    return [
      "package model",
      vals,
      n,
      ...(withDefault ? ["default allow := false"] : []),
      `allow := ${value} if {\n  ${bound}\n}${elseBranch}`,
    ].join("\n");
  });
