// Differential cases for the semantic differences of issue 19, one group per class (A–P). Each runs
// through `opa eval` and the embedded engine like the rest of the corpus (see corpus.ts).

/** `[policy, inputs, v0?]`, as in corpus.ts. */
export const SEMANTICS_ENTRIES: [string, unknown[], boolean?][] = [
  // A: the dynamic parts of a negated expression are evaluated outside the negation.
  [
    'package model\nblocked := {"mallory"}\ndefault allow := false\nallow if not blocked[input.claims.sub]',
    [{ claims: {} }, { claims: { sub: "mallory" } }, { claims: { sub: "alice" } }],
  ],
  [
    'package model\ndefault allow := false\nallow if not input.tensors[input.claims.idx] == "x"',
    [
      { claims: {}, tensors: ["x"] },
      { claims: { idx: 0 }, tensors: ["y"] },
    ],
  ],
  [
    'package model\ndenylist := {"m"}\ndefault allow := false\nallow if not data.model.denylist[input.claims.sub]',
    [{ claims: {} }, { claims: { sub: "a" } }],
  ],
  [
    "package model\ndefault allow := false\nallow if not input.a = input.b[input.c]",
    [
      { a: 1, b: [2] },
      { a: 1, b: [2], c: 0 },
    ],
  ],
  ["package model\ndefault allow := false\nallow if not [input.a] == [1]", [{}, { a: 2 }]],
  ["package model\ndefault allow := false\nallow if not input.a == 1", [{}]],
  ["package model\ndefault allow := false\nallow if not input.x[lower(input.s)]", [{ x: {} }]],
  ["package model\ndefault allow := false\nallow if not [input.a]", [{}]],
  [
    "package model\ndefault allow := false\nallow if not input.x[input.y[input.z]]",
    [
      { x: {}, y: {} },
      { x: {}, y: { a: "b" }, z: "a" },
    ],
  ],
  ['package model\ndefault allow := false\nallow if not {"a": input.q} == {"a": 1}', [{}]],
  ["package model\ndefault allow := false\nallow if not input.x[input.y[_]]", [{ x: {}, y: [1] }]],
  [
    'package model\ndefault allow := false\nallow if not startswith(input.xs[_], "a")',
    [{ xs: [] }],
  ],
  [
    'package model\ndefault allow := false\nallow if not lower(upper(input.xs[_])) == "a"',
    [{ xs: ["a", "b"] }],
  ],
  [
    "package model\ndefault allow := false\nallow if not input.s in input.list[input.i]",
    [
      { list: [["a"]], s: "b" },
      { list: [["a"]], s: "b", i: 0 },
    ],
  ],
  [
    "package model\ndefault allow := false\nallow if not count(input.xs[input.i]) > 0",
    [{ xs: [[]] }, { xs: [[]], i: 0 }],
  ],
  [
    "package model\ndefault allow := false\nallow if { x := [t | some t in input.xs]; not x[input.k] }",
    [{ xs: [1, 2] }, { xs: [1, 2], k: 5 }],
  ],
  [
    "package model\ndefault allow := false\nallow if not 3 = input.m[input.k]",
    [{ m: { a: 3 } }, { m: { a: 3 }, k: "b" }],
  ],
  [
    'package model\ndefault allow := false\nblocked contains "m"\nallow if every t in input.tensors { not blocked[input.claims[t]] }',
    [
      { tensors: ["sub"], claims: {} },
      { tensors: ["sub"], claims: { sub: "a" } },
    ],
  ],
  ["package model\nallow := [x | x := 1; not input.q[input.z]]", [{}, { z: 1, q: [] }]],
  ["package model\ndefault allow := false\nallow if not input.a != input.b", [{ a: 1 }]],
  // B: object.get with an array key walks a path.
  [
    'package model\nallow := [object.get(input.claims, ["limits", "max"], 1), object.get(input.claims, [], 1), object.get(input.claims, ["xs", 1], 0), object.get(input.claims, ["s", "a"], 0), object.get(input.claims, "limits", 0), object.get(input.claims, "n", 0)]',
    [{ claims: { limits: { max: 5 }, xs: [7, 8], s: ["a"], n: null } }, { claims: {} }],
  ],
  // C: objects iterate in sorted key order.
  [
    "package model\nallow := [k | some k, _ in input.claims]",
    [{ claims: { tier: 1, sub: 2, "10": 3, "2": 4, b: 5 } }],
  ],
  [
    "package model\nallow := [v | input.claims[k]; v := k]",
    [{ claims: { tier: 1, "2": 4, a: 0 } }],
  ],
  ["package model\nallow := [[k, v] | some k, v in input.o]", [{ o: { z: 1, "1": 2, a: 3 } }]],
  // D: to_number reads number text as Go's strconv.ParseFloat.
  [
    "package model\nallow := {x: n | some x in input.xs; n := to_number(x) * 1}",
    [
      {
        xs: ["03", "+3", "5.", ".5", "-.5", "00", "1_000", "0x10", "0x1p4", "1e400", "Inf", "-0"],
      },
      {
        xs: ["1e30", "+.5e1", "0_1", "1__0", "_1", "1_", "0b101", "0x_1p0", "1E5", "  1", "NaN"],
      },
      { xs: ["0.1e-400", "+-1", "1e", ".", "-", "0x", "0X1P-2", "1.e5", "1_0.5", "1e1_0", ""] },
    ],
  ],
  ['package model\nallow := to_number("1e30") == 1000000000000000000000000000000', [{}]],
  // E: time.parse_rfc3339_ns is Go's time.Parse(time.RFC3339, …).
  [
    "package model\nallow := {x: n | some x in input.xs; n := time.parse_rfc3339_ns(x)}",
    [
      {
        xs: [
          "2026-01-01T9:00:00Z",
          "2026-01-01T00:00:00,5Z",
          "2026-01-01T00:00:00.1234567891Z",
          "2026-01-01T00:00:00+24:00",
          "2026-01-01T00:00:00+01:60",
          "2026-01-01T00:00:00+25:00",
          "2026-1-01T00:00:00Z",
          "2026-01-01T00:0:00Z",
          "2026-01-01T24:00:00Z",
          "2026-02-29T00:00:00Z",
          "2026-01-01T00:00:00.Z",
          "2026-01-01T00:00:00+0100",
          "0000-01-01T00:00:00Z",
          "2026-01-01T07:00:00.5+07:00",
        ],
      },
    ],
  ],
  // F: glob.match follows gobwas/glob: code points, `[!…]` negates, `^` is literal.
  [
    "package model\nallow := [[c[0], c[1], glob.match(c[0], [], c[1])] | some c in input.cases]",
    [
      {
        cases: [
          ["gpu-?", "gpu-🚀"],
          ["[^a]*", "b"],
          ["[^a]*", "^a"],
          ["[!a]*", "b"],
          ["[]", "a"],
          ["a{b,c}d", "acd"],
          ["a{,b}", "a"],
          ["{}", ""],
          ["a\\*", "a*"],
          ["a\\", "a"],
          ["*", "a.b"],
          ["**", "a.b"],
          ["{a,b", "a"],
          ["a}", "a}"],
          ["a,b", "a,b"],
          ["[c-a]", "b"],
          ["[ab-c]", "-"],
          ["[!]", "a"],
          ["?", "."],
          ["[.]", "."],
          ["[\\]]", "]"],
          ["{a,{b,c}*}", "cxx"],
          ["[é-ü]", "ö"],
          ["*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
        ],
      },
    ],
  ],
  // G: Go's simple case mapping.
  [
    'package model\nallow := [lower("İSTANBUL-1"), upper("straße"), lower("ΟΔΥΣΣΕΥΣ"), upper("ﬁnance"), upper("ǅ"), lower("K"), upper("ſ"), upper("ᾀ"), upper(input.s), lower(input.s)]',
    [{ s: "Ünïcödé ß ΐ ŉ" }],
  ],
  // H: U+FEFF is not space in Go.
  [
    'package model\nallow := [trim_space("\\ufeffpro") == "pro", trim_space(" \\u00a0x\\u3000"), trim_space("\\u200bx"), trim_space(input.s)]',
    [{ s: "\u0085\u2028 y \u205f" }],
  ],
  // I: replace with an empty old string inserts between characters.
  [
    'package model\nallow := [replace("ab", "", "-"), replace("", "", "-"), replace("aaa", "aa", "b")]',
    [{}],
  ],
  // J: indexof with an empty search string is an error (undefined).
  ['package model\nallow := indexof("acme", "")', [{}]],
  ['package model\nallow := [indexof("a🚀b", "b"), substring("a🚀bc", 1, 2), count("🚀")]', [{}]],
  // K: sprintf is Go's fmt.
  [
    'package model\nallow := [sprintf("seats %s", [5]), sprintf("%v %v %v %v", [0.00001, 1234567.5, 2e-7, 1.5]), sprintf("%d", [1, 2, "a"]), sprintf("%d%", [50]), sprintf("%v", [["\\u0001"]])]',
    [{}],
  ],
  [
    'package model\nallow := [sprintf("%5.2f|%-4d|%04d|%x|%X|%o|%b|%q|%e|%g|%T|%T|%c|%U|%+d|% d|%t", [3.14159, 7, 42, 255, "hi", 8, 5, "a\\"b", 1234.5678, 0.000012345, 1, "s", 65, 9731, 3, 4, true]), sprintf("%v %s %d", [true, null, {"b": [1, "x"], "a": {2}}]), sprintf("%s", [12345678901234567890123]), sprintf("%.3s|%10s|%-10s|", ["abcdef", "r", "l"]), sprintf("%*d|%.*f", [5, 1, 2, 3.14159]), sprintf("%!", []), sprintf("%z", [1]), sprintf("%v", [set()])]',
    [{}],
  ],
  [
    'package model\nallow := sprintf("%v|%v|%.2f|%s", [input.a, input.b, input.a, input.o])',
    [{ a: 1e-7, b: -2.5e-21, o: { k: ["\u00a0"] } }],
  ],
  // K: OPA keeps a number's text (literal, input JSON, to_number's string): %v of an integer written
  // in float notation is Go's float64, composites print the text, arithmetic results get Go's text.
  [
    'package model\nallow := [sprintf("%v|%v|%v|%v|%v|%v|%v|%v|%v", [1e21, 1E21, 1.0, 10.0e0, 1e-7, 123456789012345678901234, 0.10, -0, 1e400]), sprintf("%v", [[1e21, 1.0, 0.10, 1E-7, 10.0e0, 1e+2, -1.0, -0, 1e400, .5e1, 0.00001]]), sprintf("%d|%d|%s|%T|%T|%v", [1.0, 1e2, 1e21, 5.0, 1e400, .5])]',
    [{}],
  ],
  [
    'package model\nallow := [sprintf("%v|%v|%v", [1.0 + 0, 1e21 * 1, abs(-1.0)]), sprintf("%v", [[1.0 + 0, 2e-7 / 1, 1234567.5 + 0, 0.5 * 1, 1e21 - 0, sum([1.0]), abs(1.0), 0.00001 * 1]])]',
    [{}],
  ],
  [
    'package model\nallow := [sprintf("%v|%v|%v|%v|%d|%T|%v|%v|%v|%v|%T", [to_number("03"), to_number("5."), to_number("1e21"), to_number("1_000"), to_number("+3"), to_number("0x1p4"), to_number("0x1.8p1"), to_number("1_0.5"), to_number("1e1_0"), to_number("1e-400"), to_number("-0")]), sprintf("%v", [[to_number("03"), to_number("+3"), to_number("1_000"), to_number(1.0), to_number("0x1p4"), to_number("-0"), to_number(".5")]])]',
    [{}],
  ],
  [
    'package model\nallow := [sprintf("%v", [[input.a, input.b, input.c, input.d, input.e]]), sprintf("%v|%v|%v|%v|%v|%d", [input.a, input.b, input.c, input.d, input.e, input.c])]',
    [{ a: 1.0, b: 2.5e21, c: 1e21, d: 0.00001, e: 1e-7 }],
  ],
  [
    'package model\nd := {1.0, 1}\nallow := [sprintf("%v", [d]), sprintf("%v", [{1.0: "a"}]), sprintf("%v", [[max([1.0]), min([1e21, 1e22]), [1, 1.0] == [1.0, 1], 1.0 == 1, sort([1.0, 0.5])]]), input.arr[input.i], substring("abcdef", 1.0, 2), input.arr[to_number("01")], input.arr[input.f]]',
    [{ arr: [10, 20], i: 1, f: 1.5 }],
  ],
  // A kept text that is not JSON cannot be handed out: OPA's encoder fails.
  ['package model\nallow := to_number("03")', [{}]],
  ['package model\nallow := [to_number("5."), 1]', [{}]],
  ['package model\nallow := [to_number("1e21"), to_number(" 1"), {"k": to_number("1.0")}]', [{}]],
  ['package model\nallow := to_number("03") == 3', [{}]],
  ["package model\nallow := [.5, 1]", [{}]],
  // Integer operands (array index, substring, array.slice): digits with at most a zero fraction.
  [
    'package model\nallow := [array.slice([1, 2, 3], 1.0, 2), array.slice([1, 2, 3], 1, 3.00), substring("abcdef", 1.0, 2.00), substring("abcdef", -0.0, to_number("02.0")), substring("abcdef", 0, to_number("+2.0")), input.arr[input.a], input.arr[to_number("1.")], input.arr[to_number("01")], 5e0 % 2, 5.0 % 2]',
    [{ arr: [10, 20, 30], a: 1 }],
  ],
  ["package model\nallow := array.slice([1, 2, 3], 1, 2e0)", [{}]],
  ['package model\nallow := substring("abcdef", 1e0, 2)', [{}]],
  ['package model\nallow := substring("abcdef", 0, to_number("2_0.0"))', [{}]],
  ['package model\nallow := substring("abcdef", 0, to_number("0x2p0"))', [{}]],
  ['package model\nallow := substring("abcdef", 0, 2.10)', [{}]],
  ["package model\nallow := input.arr[input.b]", [{ arr: [10, 20], b: 1e21 }]],
  ['package model\nallow := input.arr[to_number("1e0")]', [{ arr: [10, 20] }]],
  [
    "package model\nallow := [count([1, 2]) == 2.0, input.o[1], input.o[1.0], input.xs[input.i]]",
    [
      { xs: ["a", "b"], i: 1.0, o: {} },
      { xs: ["a", "b"], i: 1e21, o: { "1": 2 } },
    ],
  ],
  ['package model\no := {1.0: "a"}\nallow := [o[1], o[1e0], count(o)]', [{}]],
  ["package model\nallow := [.5 + 0, -.25 * 2, sum([x | x := .5e1]) + 0]", [{}]],
  // L: unused declared variables are compile errors.
  ['package model\nallow if { some x; input.tier == "pro" }', [{ tier: "pro" }]],
  ["package model\nallow if { every i, t in input.tensors { t == 1 } }", [{ tensors: [1] }]],
  ["package model\nallow if { every t in input.tensors { true } }", [{ tensors: [1] }]],
  ["package model\nallow if { every _, t in input.tensors { t } }", [{ tensors: [true] }]],
  ["package model\nallow if { some x, y; x = 1 }", [{}]],
  ["package model\nallow := [1 | some x]", [{}]],
  ["package model\nallow if { some x; y := [x | x := 1]; y }", [{}]],
  ["package model\nallow if { some x; x = 1 }", [{}]],
  // M: comprehension and every bodies are scopes of their own.
  ["package model\nallow if { x := 1; y := [x | x := 2]; count(y) == 1 }", [{}]],
  ["package model\nallow if { x := 1; every y in [1] { x := 2; y } }", [{}]],
  ["package model\nallow := [x | x := 1; y := [x | x := 2]]", [{}]],
  ["package model\nallow if { x := 1; y := [x | some x in [5]]; y == [5] }", [{}]],
  ["package model\nallow := [x | x := 2; x := 3]", [{}]],
  ["package model\nallow := y if { x := 1; y := {x: v | some x, v in [5]} }", [{}]],
  // N: `-` is typed number-or-set whatever its operands.
  ["package model\nf(a, b) := count(a - b)\nallow := f({1}, {1})", [{}]],
  ["package model\nallow := count(1 - 1)", [{}]],
  ['package model\nallow if 1 - 1 == "a"', [{}]],
  // P: integers written with an exponent are exact.
  ["package model\nallow := 1e30 == 1000000000000000000000000000000", [{}]],
  ["package model\nallow := [1e30, 1.5e1, 2.5e-1, 1e2 + 1, 12345678901234567890e2]", [{}]],
];
