/**
 * Safety, as OPA's compiler checks it: every variable must be bound before it is used. Body
 * literals are reordered so that the literal binding a variable runs before those using it
 * (`count(x) > 0; x = input.a` is valid Rego), and a body that cannot be ordered is an error.
 */
import type { Literal, Term } from "./ast.js";
import { invalid } from "./diagnostics.js";

/** Variables a term needs bound (`inputs`) and those it can bind through reference keys (`outputs`). */
function termVars(t: Term, inputs: Set<string>, outputs: Set<string>, nested: Term[]): void {
  switch (t.k) {
    case "var":
      inputs.add(t.name);
      return;
    case "ref":
      termVars(t.head, inputs, outputs, nested);
      for (const seg of t.path) {
        if (seg.k === "var") outputs.add(seg.name);
        else termVars(seg, inputs, outputs, nested);
      }
      return;
    case "array":
    case "set":
      t.items.forEach((x) => termVars(x, inputs, outputs, nested));
      return;
    case "object":
      t.entries.forEach(
        ([k, v]) => (termVars(k, inputs, outputs, nested), termVars(v, inputs, outputs, nested)),
      );
      return;
    case "call":
      t.args.forEach((x) => termVars(x, inputs, outputs, nested));
      return;
    case "member":
      [t.key, t.value, t.coll].forEach((x) => x && termVars(x, inputs, outputs, nested));
      return;
    case "compr":
      nested.push(t);
      return;
    default:
      return;
  }
}

/**
 * Returns the variables bound after `t` is evaluated, or the unsafe ones.
 *
 * @example
 * ```ts
 * termSafety(parsedTerm, new Set(["x"])); // { ok: true, out } when every variable is bound
 * ```
 */
export function termSafety(
  t: Term,
  bound: Set<string>,
): { ok: true; out: Set<string> } | { ok: false; unsafe: string[] } {
  const inputs = new Set<string>();
  const outputs = new Set<string>();
  const nested: Term[] = [];
  termVars(t, inputs, outputs, nested);
  const out = new Set([...bound, ...outputs]);
  const unsafe = [...inputs].filter((v) => !out.has(v));
  for (const c of nested) {
    if (c.k !== "compr") continue;
    const r = orderBody(c.body, out, false);
    if (!r.ok) unsafe.push(...r.unsafe);
    else {
      const headVars = new Set<string>();
      termVars(c.head, headVars, headVars, []);
      if (c.key) termVars(c.key, headVars, headVars, []);
      unsafe.push(...[...headVars].filter((v) => !r.bound.has(v)));
      c.body = r.body;
    }
  }
  return unsafe.length > 0 ? { ok: false, unsafe } : { ok: true, out };
}

/** Safety of `a = b`: one side evaluable, the other a pattern whose free variables get bound. */
function unifySafety(a: Term, b: Term, bound: Set<string>): Set<string> | string[] {
  if (a.k === "array" && b.k === "array" && a.items.length === b.items.length) {
    let cur = new Set(bound);
    let pending = a.items.map((x, i) => [x, b.items[i]!] as const);
    while (pending.length > 0) {
      const before = pending.length;
      pending = pending.filter(([x, y]) => {
        const r = unifySafety(x, y, cur);
        if (Array.isArray(r)) return true;
        cur = r;
        return false;
      });
      if (pending.length === before)
        return unifySafety(pending[0]![0], pending[0]![1], cur) as string[];
    }
    return cur;
  }
  let firstUnsafe: string[] | undefined;
  for (const [value, pattern] of [
    [b, a],
    [a, b],
  ] as const) {
    const side = termSafety(value, bound);
    if (!side.ok) {
      firstUnsafe ??= side.unsafe;
      continue;
    }
    const r = patternSafety(pattern, side.out);
    if (!Array.isArray(r)) return r;
    firstUnsafe ??= r;
  }
  return firstUnsafe ?? [];
}

function patternSafety(t: Term, bound: Set<string>): Set<string> | string[] {
  if (t.k === "var") return new Set([...bound, t.name]);
  if (t.k === "array" || t.k === "object") {
    let cur = bound;
    const parts = t.k === "array" ? t.items : t.entries.map(([, v]) => v);
    if (t.k === "object") {
      for (const [k] of t.entries) {
        const ks = termSafety(k, cur);
        if (!ks.ok) return ks.unsafe;
      }
    }
    for (const p of parts) {
      const r = patternSafety(p, cur);
      if (Array.isArray(r)) return r;
      cur = r;
    }
    return cur;
  }
  const r = termSafety(t, bound);
  return r.ok ? r.out : r.unsafe;
}

function literalSafety(lit: Literal, bound: Set<string>): Set<string> | string[] {
  switch (lit.k) {
    case "expr": {
      const r = termSafety(lit.term, bound);
      return r.ok ? r.out : r.unsafe;
    }
    case "assign":
    case "unify":
      return unifySafety(lit.lhs, lit.rhs, bound);
    case "someDecl":
      return bound;
    case "someIn": {
      const r = termSafety(lit.coll, bound);
      if (!r.ok) return r.unsafe;
      return new Set([...r.out, lit.value, ...(lit.key === undefined ? [] : [lit.key])]);
    }
    case "not": {
      // Every variable of a negated expression must already be bound (OPA rejects `not x[_] == 1`).
      const r = literalSafety(lit.lit, bound);
      if (Array.isArray(r)) return r;
      const extra = [...r].filter((v) => !bound.has(v));
      return extra.length > 0 ? extra : bound;
    }
    case "every": {
      const r = termSafety(lit.coll, bound);
      if (!r.ok) return r.unsafe;
      const inner = new Set([...r.out, lit.value, ...(lit.key === undefined ? [] : [lit.key])]);
      const b = orderBody(lit.body, inner, false);
      if (!b.ok) return b.unsafe;
      lit.body = b.body;
      return r.out;
    }
  }
}

/**
 * Orders a body so each literal's inputs are bound when it runs (OPA's reordering for safety).
 *
 * @example
 * ```ts
 * orderBody(parsedBody, new Set(), true).body; // literals reordered so bindings come first
 * ```
 */
export function orderBody(
  lits: Literal[],
  bound: Set<string>,
  raise: boolean,
): { ok: true; body: Literal[]; bound: Set<string> } | { ok: false; unsafe: string[] } {
  let cur = new Set(bound);
  const remaining = [...lits];
  const ordered: Literal[] = [];
  while (remaining.length > 0) {
    let picked = -1;
    let firstUnsafe: string[] = [];
    for (let i = 0; i < remaining.length; i++) {
      const r = literalSafety(remaining[i]!, cur);
      if (Array.isArray(r)) {
        if (i === 0) firstUnsafe = r;
        continue;
      }
      cur = r;
      picked = i;
      break;
    }
    if (picked < 0) {
      const unsafe = [...new Set(firstUnsafe)].map((v) => (v.startsWith("_$") ? "_" : v));
      if (raise)
        invalid(
          `var ${unsafe.join(", ")} is unsafe (not bound by any expression)`,
          remaining[0]!.pos,
        );
      return { ok: false, unsafe };
    }
    ordered.push(...remaining.splice(picked, 1));
  }
  return { ok: true, body: ordered, bound: cur };
}
