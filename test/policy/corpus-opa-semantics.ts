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
];
