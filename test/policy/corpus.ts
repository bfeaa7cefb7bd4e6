// Hand-written differential corpus: each policy is evaluated by `opa eval` and by our engine for
// each of its inputs (`undefined` = no input document, as the reference evaluates).
import { SEMANTICS_ENTRIES } from "./corpus-opa-semantics.js";
import type { Case } from "./opa-oracle.js";

const pro = {
  claims: { tier: "pro", sub: "alice", exp: "2031-01-01T00:00:00Z" },
  tensors: ["pro.w", "free.b"],
  host: { hostname: "gpu-1", platform: "linux" },
};
const free = {
  claims: { tier: "free", sub: "bob" },
  tensors: ["free.a", "free.b"],
  host: { hostname: "laptop", platform: "darwin" },
};
const odd = { claims: { tier: 3 }, tensors: "not-a-list", host: null };

const entries: [string, unknown[], boolean?][] = [
  // Constant policies and defaults (what the reference can evaluate).
  ["package model\nallow = true", [undefined, {}]],
  ["package model\nallow = false", [undefined]],
  ["package model\nallow := true", [undefined]],
  ["package other\nallow = true", [undefined]],
  ["package model\ndefault allow = false", [undefined]],
  [
    'package model\ndefault allow := false\nallow if input.claims.tier == "pro"',
    [undefined, pro, free, odd],
  ],
  ['package model\nallow if input.claims.tier == "pro"', [undefined, pro, free]],
  ['package model\nallow { input.claims.tier == "pro" }', [undefined, pro, free], true],
  ["package model\ndefault allow = false\nallow = true { 1 < 2 }", [undefined], true],
  [
    'package model\nimport future.keywords.if\nimport future.keywords.in\nallow if { "pro.w" in input.tensors }',
    [pro, free],
    true,
  ],
  ["package model\nimport rego.v1\nallow if { 1 == 1 }", [undefined]],
  ["package model\nimport rego.v1\nallow { true }", [undefined]],
  ["package model\nallow { true }", [undefined]],
  ["package model\nallow = true { true }", [undefined]],
  // Time.
  [
    'package model\nallow if time.now_ns() < time.parse_rfc3339_ns("2020-01-01T00:00:00Z")',
    [undefined],
  ],
  [
    'package model\nallow if time.now_ns() < time.parse_rfc3339_ns("2100-01-01T00:00:00Z")',
    [undefined],
  ],
  [
    "package model\ndefault allow := false\nallow if time.now_ns() < time.parse_rfc3339_ns(input.claims.exp)",
    [pro, free, odd],
  ],
  [
    "package model\nallow := time.parse_rfc3339_ns(input.t)",
    [
      { t: "2024-02-29T12:30:45.123456789+02:00" },
      { t: "2023-02-29T00:00:00Z" },
      { t: "1969-12-31T23:59:59Z" },
      { t: 5 },
      { t: "2999-01-01T00:00:00Z" },
      { t: "2262-04-11T23:47:16.854775807Z" },
      { t: "2262-04-11T23:47:16.854775808Z" },
      { t: "2024-01-01t00:00:00z" },
      { t: "2024-01-01T00:00:00-24:00" },
    ],
  ],
  // Multiple definitions, conflicts, helper rules.
  [
    "package model\nallow if input.a == 1\nallow if input.b == 2",
    [{ a: 1 }, { b: 2 }, { a: 2, b: 3 }],
  ],
  [
    "package model\nallow := true if input.a == 1\nallow := false if input.b == 2",
    [{ a: 1 }, { b: 2 }, { a: 1, b: 2 }, {}],
  ],
  [
    "package model\nallow := input.xs[_]",
    [{ xs: [true, true] }, { xs: [true, false] }, { xs: [] }],
  ],
  [
    'package model\ntier := input.claims.tier\nis_pro if tier == "pro"\nallow if is_pro\nallow if data.model.tier == "enterprise"',
    [pro, free, { claims: { tier: "enterprise" } }],
  ],
  [
    'package model\nlimits := {"free": 1, "pro": 10}\nallow if count(input.tensors) <= limits[input.claims.tier]',
    [pro, free, odd],
  ],
  ["package model\nx := 1\nallow := data.model", [undefined]],
  ["package model\nallow := data.other.thing", [undefined]],
  // Iteration: some/every/in/refs with variables.
  ['package model\nallow if { some t in input.tensors; startswith(t, "pro.") }', [pro, free, odd]],
  [
    'package model\nallow if { every t in input.tensors { startswith(t, "free.") } }',
    [pro, free, odd, { tensors: [] }],
  ],
  [
    'package model\nallow if { some i, t in input.tensors; i == 1; endswith(t, ".b") }',
    [pro, free],
  ],
  ['package model\nallow if { input.tensors[i] == "free.b"; i > 0 }', [pro, free]],
  ["package model\nallow := [i | input.tensors[i]]", [pro, odd]],
  ['package model\nallow := {t | some t in input.tensors; contains(t, "free")}', [pro, free]],
  ["package model\nallow := {t: count(t) | some t in input.tensors}", [pro]],
  ['package model\nallow if { some k, v in input.claims; k == "tier"; v == "pro" }', [pro, free]],
  ['package model\nallow := "pro" in {"pro", "team"}', [undefined]],
  ['package model\nallow := input.claims.tier in ["pro", "team"]', [pro, free, {}]],
  ['package model\nallow := "tier", "pro" in input.claims', [pro, free]],
  // Negation, unification, assignment.
  [
    "package model\nallow if not input.claims.revoked",
    [pro, { claims: { revoked: true } }, { claims: { revoked: false } }],
  ],
  ['package model\nallow if { not startswith(input.host.hostname, "gpu-") }', [pro, free, odd]],
  ["package model\nallow := [a, b] if { [a, 1] = [2, b] }", [undefined]],
  [
    'package model\nallow := x if { {"tier": x, "sub": _} = input.claims }',
    [pro, free, { claims: { tier: "x" } }],
  ],
  ["package model\nallow := y if { x := input.n * 2; y := x + 1 }", [{ n: 3 }, { n: "3" }, {}]],
  ["package model\nallow if { count(x) > 1; x = input.tensors }", [pro, odd]],
  ["package model\nallow if { x := 1; x := 2 }", [undefined]],
  ["package model\nallow if { y > 0; y := 1 }", [undefined]],
  ["package model\nallow if { z > 0 }", [undefined]],
  ["package model\nallow if { not input.xs[_] == 1 }", [{ xs: [2] }]],
  // Arithmetic and comparisons.
  ["package model\nallow := [1 + 2 * 3, 7 - 10, 9 / 3, 7 / 2, 7 % 3, -7 % 3, 2 - -1]", [undefined]],
  [
    "package model\nallow := input.a / input.b",
    [
      { a: 1, b: 0 },
      { a: 6, b: 4 },
      { a: 1, b: 4 },
    ],
  ],
  [
    "package model\nallow := input.a % input.b",
    [
      { a: 7, b: 2.5 },
      { a: 7, b: 0 },
      { a: -9, b: 4 },
    ],
  ],
  [
    "package model\nallow := [input.a < input.b, input.a >= input.b, input.a != input.b]",
    [
      { a: 1, b: "a" },
      { a: [1, 2], b: [1, 3] },
      { a: null, b: false },
      { a: { x: 1 }, b: { x: 1, y: 0 } },
    ],
  ],
  ["package model\nallow := 9007199254740993 + 2", [undefined]],
  ['package model\nallow := time.parse_rfc3339_ns("2030-01-01T00:00:00Z") + 1', [undefined]],
  ["package model\nallow := {1, 2, 3} - {2} | {9}", [undefined]],
  ["package model\nallow := {1, 2, 3} & {2, 3, 4}", [undefined]],
  ['package model\nallow := "a" + 1', [undefined]],
  ["package model\nallow if count(5) > 0", [undefined]],
  ["package model\nallow := -input.a", [{ a: 2 }, { a: "x" }]],
  // Strings and builtins.
  [
    'package model\nallow := [lower("AbC"), upper("aBc"), count("héllo"), concat("/", ["a", "b"]), split("a.b.c", ".")]',
    [undefined],
  ],
  [
    'package model\nallow := sprintf("%s has %d tensors: %v", [input.claims.sub, count(input.tensors), input.tensors])',
    [pro, free],
  ],
  [
    'package model\nallow := [glob.match("*.example.com", ["."], input.h), glob.match("gpu-*", [], input.h), glob.match("**.com", ["."], input.h)]',
    [{ h: "a.example.com" }, { h: "a.b.example.com" }, { h: "gpu-7" }],
  ],
  [
    'package model\nallow := glob.match("{gpu,tpu}-[0-9]?", null, input.h)',
    [{ h: "gpu-12" }, { h: "tpu-3" }, { h: "cpu-12" }],
  ],
  [
    "package model\nallow := [max(input.xs), min(input.xs), sum(input.xs), count(input.xs)]",
    [{ xs: [3, 1, 2] }, { xs: [] }, { xs: ["a", 1] }],
  ],
  [
    'package model\nallow := [type_name(input.v), is_string(input.v), is_number(input.v), object.get(input, "v", "none")]',
    [{ v: "s" }, { v: 1.5 }, { v: null }, {}],
  ],
  [
    'package model\nallow := [trim_space("  x "), replace("a-b-c", "-", "+"), contains("abc", "bc")]',
    [undefined],
  ],
  [
    'package model\nallow := [sort(input.v), array.concat([1], [2, 3]), array.slice([1, 2, 3, 4], 1, 3), array.slice([1, 2], -1, 9), object.keys({"a": 1, "b": 2})]',
    [{ v: [3, "a", null, 1] }, { v: "x" }],
  ],
  [
    "package model\nallow := [union({{1, 2}, {3}}), intersection({{1, 2}, {2, 3}}), intersection(set()), union(set())]",
    [undefined],
  ],
  [
    'package model\nallow := [indexof(input.s, "b"), substring(input.s, 1, 2), substring(input.s, 1, -1), substring(input.s, 9, 1)]',
    [{ s: "aébc" }, { s: "xyz" }, { s: 3 }],
  ],
  ['package model\nallow := substring("abc", -1, 1)', [undefined]],
  [
    'package model\nallow := sprintf("%v|%v|%v|%v|%s|%d", [{3, 1, "a"}, set(), {"b": 1, "a": {2}}, 1.5, [true, null], input.n])',
    [{ n: 12345678901234567890n }, { n: 1.5 }, { n: "x" }, { n: false }, { n: [1, "a"] }],
  ],
  [
    "package model\nallow := [to_number(input.v), to_number(null), to_number(true)]",
    [{ v: "12" }, { v: "-1.5e2" }, { v: "0x1" }, { v: " 1" }, { v: 7 }],
  ],
  // Hosts and licence tiers (the documented examples).
  [
    'package model\nimport rego.v1\ndefault allow := false\nallowed_hosts := {"gpu-1", "gpu-2"}\nallow if input.host.hostname in allowed_hosts',
    [pro, free, odd],
  ],
  [
    'package model\nimport rego.v1\ndefault allow := false\ntier_prefixes := {"free": ["free."], "pro": ["free.", "pro."]}\nallow if {\n  prefixes := tier_prefixes[input.claims.tier]\n  every t in input.tensors {\n    some p in prefixes\n    startswith(t, p)\n  }\n}',
    [pro, free, { claims: { tier: "free" }, tensors: ["pro.w"] }, odd],
  ],
  [
    'package model\nallow if input.claims.tier == "pro"\nallow if input.claims.tier == "pro"',
    [pro],
  ],
  ["package model\ndefault allow := false\ndefault allow := true", [undefined]],
  ["package model\nallow if a\na if b\nb if a", [undefined]],
  ['package model\nallow := {"a": 1, "b": [1, {"c": null}]}', [undefined]],
  [
    'package model\nallow if input.obj["k"][0] == 1',
    [{ obj: { k: [1] } }, { obj: { k: [] } }, { obj: [1] }],
  ],
  ["package model\nallow := [x | x := input.xs[_]; x > 1]", [{ xs: [1, 2, 3] }, { xs: "abc" }]],
  ["package model\nallow := {k: v | some k, v in input.o; v > 1}", [{ o: { a: 1, b: 2 } }]],
  ["package model\nallow := {x: 1 | some x in input.xs}", [{ xs: [1, 1] }]],
  // User-defined functions.
  ["package model\nf(x) := x + 1\nallow := f(input.n)", [{ n: 1 }, {}, { n: "a" }]],
  [
    "package model\nf(x) := 1 if x > 0\nf(x) := 2 if x > 1\nallow := f(input.n)",
    [{ n: 5 }, { n: 1 }, { n: 0 }],
  ],
  ["package model\nf(x) := 1 if x > 0\nf(x) := 1 if x > 1\nallow := f(5)", [undefined]],
  ['package model\nf(1) := "one"\nf(2) := "two"\nallow := [f(1), f(2)]', [undefined]],
  ["package model\nf(x, y) := x * y\nallow := f(2)", [undefined]],
  ["package model\ncount(x) := 1\nallow := count([1, 2])", [undefined]],
  [
    "package model\nf(x) := y if { y := x[_] }\nallow := f(input.xs)",
    [{ xs: [1, 2] }, { xs: [1, 1] }],
  ],
  ["package model\nf(x) := x\nallow := data.model.f(3)", [undefined]],
  ["package model\nf(x) := x\nallow := f", [undefined]],
  ["package model\nf(x) := x\nf := 1\nallow := 1", [undefined]],
  ["package model\nf([a, b]) := a + b\nallow := f(input.p)", [{ p: [1, 2] }, { p: [1] }]],
  ["package model\nf(x) := g(x)\ng(x) := f(x)\nallow := 1", [undefined]],
  ['package model\nf(x) := "s"\nallow if f(1) == 2', [undefined]],
  ["package model\nf(x) := x\nallow if not f(input.missing)", [{}]],
  ["package model\ndefault f(_) := 0\nf(x) := 1 if x == 1\nallow := [f(1), f(2)]", [undefined]],
  ["package model\nf(x) := 1 if x == 1\nf(x) := 1 if x == 1\nallow if f(2) == 1", [undefined]],
  [
    'package model\nimport rego.v1\ndefault allow := false\nprefix_ok(t, tier) if { tier == "pro" }\nprefix_ok(t, _) if startswith(t, "free.")\nallow if every t in input.tensors { prefix_ok(t, input.claims.tier) }',
    [pro, free, { claims: { tier: "free" }, tensors: ["pro.w"] }, odd],
  ],
  // else chains.
  [
    'package model\nallow := "a" if input.x == 1\nelse := "b" if input.x == 2\nelse := "c"',
    [{ x: 1 }, { x: 2 }, { x: 3 }, {}],
  ],
  [
    'package model\nallow := "a" if { input.x == 1 } else := "b" if { input.x == 2 }',
    [{ x: 3 }, { x: 2 }],
  ],
  ["package model\nallow if input.x == 1 else := false", [{ x: 3 }, { x: 1 }]],
  [
    'package model\nallow := "a" if input.x == 1 else := "b"\nallow := "c" if input.y',
    [{ x: 3, y: true }, { x: 1 }, { x: 3 }],
  ],
  [
    "package model\nallow := x if { x := input.xs[_] } else := 0",
    [{ xs: [1, 2] }, { xs: [] }, { xs: [5] }],
  ],
  [
    'package model\ndefault allow := 9\nallow := "a" if input.x == 1 else := "b" if input.x == 2',
    [{ x: 3 }, { x: 2 }],
  ],
  ['package model\nf(x) := "pos" if x > 0 else := "neg"\nallow := [f(1), f(-1)]', [undefined]],
  ["package model\nallow if false else if true", [undefined]],
  ["package model\nallow := 1 if false else = 2", [undefined]],
  ["package model\nallow contains 1 if false else := 2", [undefined]],
  ["package model\nallow := 1 if {\n  false\n}\nelse := 2", [undefined]],
  ["package model\nallow := input.missing if true else := 1", [{}]],
  ["package model\nallow := 1 if false else := input.missing if true else := 3", [{}]],
  // Partial object rules.
  [
    'package model\nlimits[tier] := n if { some tier, n in {"free": 1, "pro": 5} }\nallow := limits',
    [undefined],
  ],
  [
    "package model\nlimits[t] := 1 if { some t in input.ts }\nallow := limits",
    [{}, { ts: ["a", "b"] }],
  ],
  [
    'package model\nlimits["a"] := 1\nlimits["b"] := 2 if input.x\nallow := limits',
    [{ x: true }, {}],
  ],
  [
    'package model\nlimits[k] := v if { k := "a"; v := input.xs[_] }\nallow := limits',
    [{ xs: [1, 2] }, { xs: [1, 1] }],
  ],
  ["package model\nlimits[k] if { some k in input.xs }\nallow := limits", [{ xs: [1, 2] }]],
  ['package model\nlimits["x"] := 1\nallow := limits.y', [undefined]],
  ["package model\nlimits[input.k] := 1\nallow := limits", [{ k: "z" }, {}]],
  ["package model\nlimits[k] := 1\nallow := limits", [undefined]],
  ['package model\ndefault limits := {}\nlimits["a"] := 1\nallow := limits', [undefined]],
  [
    'package model\nimport rego.v1\ndefault allow := false\nquota[tier] := n if { some tier, n in {"free": 1, "pro": 8} }\nallow if count(input.tensors) <= quota[input.claims.tier]',
    [pro, free, odd],
  ],
  [
    'package model\nallowed[t] { t := input.tensors[_]; startswith(t, "free.") }\nallow = count(allowed)',
    [pro, free],
    true,
  ],
  // Multi-value (contains) rules.
  [
    "package model\ns contains x if { some x in input.xs }\nallow := s",
    [{ xs: [2, 1, 2] }, {}, { xs: "no" }],
  ],
  ['package model\ns contains 1\ns contains "a" if input.b\nallow := s', [{ b: true }, {}]],
  ["package model\ns contains 1\ns := 2\nallow := s", [undefined]],
  ["package model\ndefault s := 1\ns contains 1\nallow := s", [undefined]],
  ["package model\ns contains x if { x := input.y }\nallow := count(s)", [{}, { y: 3 }]],
  ["package model\nallow contains 1", [undefined]],
  ["package model\ns contains x if { some x in [1, 2] }\nallow if s[2]", [undefined]],
  ['package model\ns contains x if { some x in [1, 2] }\nallow if "a" in s', [undefined]],
  ["package model\ns contains x\nallow := s", [undefined]],
  ['package model\nallow if { every x in [1, 2] { x == "a" } }', [undefined]],
  [
    'package model\nimport rego.v1\ndefault allow := false\nallowed contains t if { some t in input.tensors; startswith(t, "free.") }\nallowed contains t if { input.claims.tier == "pro"; some t in input.tensors }\nallow if count(allowed) == count(input.tensors)',
    [pro, free, { claims: { tier: "free" }, tensors: ["pro.w"] }, odd],
  ],
];

/** All corpus cases, flattened. */
export const CORPUS: Case[] = [...entries, ...SEMANTICS_ENTRIES].flatMap(([policy, inputs, v0]) =>
  inputs.map((input) => ({ policy, input, ...(v0 ? { v0 } : {}) })),
);
