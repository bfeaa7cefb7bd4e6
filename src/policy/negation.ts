/**
 * How OPA evaluates `not`: its compiler moves the dynamic parts of a negated expression out of the
 * negation before evaluating it, so an undefined key or argument makes the whole body fail instead
 * of making the negation true. `not blocked[input.claims.sub]` with no `sub` claim is *undefined*
 * in OPA (the rule does not hold), not true — reading it as true would grant access.
 *
 * Two of OPA's compiler stages do this, and the difference matters for safety errors:
 * - RewriteExprTerms (before the safety check) moves every call nested in the expression's operands
 *   (`not input.x[lower(input.s)]`, `not f(g(x))`) into literals of its own, before the negation;
 * - RewriteDynamicTerms (after the safety check) binds each reference used as a call argument, as a
 *   key inside a reference, or as an element of a composite operand, to a fresh variable before the
 *   negation. For `==`/`=` the operands themselves stay inside (`not input.a == 1` is true when
 *   `input.a` is missing), only their keys and elements move.
 */
import type { Literal, Pos, Term } from "./ast.js";

type NotLiteral = Extract<Literal, { k: "not" }>;

/** Kinds of resolved terms that are references in OPA (`input`, `data.model.r`, `x[k]`). */
function isRef(t: Term): boolean {
  return t.k === "ref" || t.k === "rule" || t.k === "input" || t.k === "pkg" || t.k === "undef";
}

/**
 * Rewrites a negated literal as OPA's compiler does. Returns the literals to run before it (the
 * moved calls, which take part in safety ordering like any literal) followed by the negation, whose
 * `pre`/`hoisted` fields hold the moved references.
 *
 * @example
 * ```ts
 * // not blocked[input.claims.sub]  →  not { pre: [__h$0 = input.claims.sub], hoisted: blocked[__h$0] }
 * const lits = rewriteNegation(notLiteral, (pos) => ({ k: "var", name: "__h$0", pos }));
 * ```
 */
export function rewriteNegation(lit: NotLiteral, fresh: (pos: Pos) => Term): Literal[] {
  const before: Literal[] = [];
  const bind = (t: Term, out: Literal[]): Term => {
    const v = fresh(t.pos);
    out.push({ k: "unify", lhs: v, rhs: t, pos: t.pos });
    return v;
  };

  // Stage 1: calls nested anywhere in an operand (not inside comprehension bodies) run first.
  const calls = (t: Term): Term => {
    switch (t.k) {
      case "call":
      case "member":
        return bind(t, before);
      case "ref":
        return { ...t, path: t.path.map(calls) };
      case "array":
      case "set":
        return { ...t, items: t.items.map(calls) };
      case "object":
        return { ...t, entries: t.entries.map(([k, v]) => [calls(k), calls(v)] as [Term, Term]) };
      default:
        return t;
    }
  };
  const inner = lit.lit;
  let expanded: Literal = inner;
  if (inner.k === "expr") {
    const t = inner.term;
    if (t.k === "call") expanded = { ...inner, term: { ...t, args: t.args.map(calls) } };
    else if (t.k === "member")
      expanded = {
        ...inner,
        term: { ...t, key: t.key && calls(t.key), value: calls(t.value), coll: calls(t.coll) },
      };
    else expanded = { ...inner, term: calls(t) };
  } else if (inner.k === "unify") {
    expanded = { ...inner, lhs: calls(inner.lhs), rhs: calls(inner.rhs) };
  }

  // Stage 2: references (and comprehensions) in argument, key and element positions are bound first.
  const pre: Literal[] = [];
  const one = (t: Term): Term => {
    switch (t.k) {
      case "ref":
        return bind({ ...t, path: t.path.map(one) }, pre);
      case "rule":
      case "input":
      case "pkg":
      case "undef":
      case "compr":
        return bind(t, pre);
      case "array":
      case "set":
        return { ...t, items: t.items.map(one) };
      case "object":
        return { ...t, entries: t.entries.map(([k, v]) => [one(k), one(v)] as [Term, Term]) };
      default:
        return t;
    }
  };
  // An operand of `=`/`==`, or the whole expression: a reference keeps its place, its keys move.
  const operand = (t: Term): Term => {
    if (t.k === "ref") return { ...t, path: t.path.map(one) };
    if (isRef(t) || t.k === "compr") return t;
    return one(t);
  };
  let hoisted: Literal = expanded;
  if (expanded.k === "expr") {
    const t = expanded.term;
    if (t.k === "call" && t.name === "equal" && t.args.length === 2)
      hoisted = { ...expanded, term: { ...t, args: t.args.map(operand) } };
    else if (t.k === "call") hoisted = { ...expanded, term: { ...t, args: t.args.map(one) } };
    else if (t.k === "member")
      hoisted = {
        ...expanded,
        term: { ...t, key: t.key && one(t.key), value: one(t.value), coll: one(t.coll) },
      };
    else hoisted = { ...expanded, term: operand(t) };
  } else if (expanded.k === "unify") {
    hoisted = { ...expanded, lhs: operand(expanded.lhs), rhs: operand(expanded.rhs) };
  }
  const negation: NotLiteral =
    pre.length === 0 ? { ...lit, lit: expanded } : { ...lit, lit: expanded, pre, hoisted };
  return [...before, negation];
}
