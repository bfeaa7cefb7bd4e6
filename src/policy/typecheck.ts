/**
 * Static type errors, as OPA's type checker reports them at compile time: builtin arguments whose
 * type is known and wrong (`count(1)`), `==` between types that can never be equal (`1 == "a"`),
 * and membership of a value that no element of a literal collection can match (`true in [1]`).
 * Types are bit masks of the basic Rego types; collections also carry the mask of their elements
 * when it is known from a literal.
 */
import type { Literal, Term } from "./ast.js";
import { BUILTINS, T } from "./builtins.js";
import { invalid, unsupported } from "./diagnostics.js";
import { typeName, type Value } from "./values.js";

/** A static type: `m` the possible basic types, `e` the element types of a collection (0 = unknown). */
export interface Ty {
  m: number;
  e: number;
}

const ANY: Ty = { m: T.any, e: 0 };

function ty(m: number, e = 0): Ty {
  return { m, e };
}

/** Union of two static types. */
export function unionTy(a: Ty, b: Ty): Ty {
  return { m: a.m | b.m, e: a.e !== 0 && b.e !== 0 ? a.e | b.e : 0 };
}

function scalarType(v: Value): number {
  return { null: T.null, boolean: T.bool, number: T.num, string: T.str }[typeName(v)] ?? T.any;
}

function elements(types: Ty[]): number {
  return types.length === 0 ? 0 : types.reduce((acc, t) => acc | t.m, 0);
}

/** Walks compiled bodies with an environment of variable types; throws ERR_POLICY_INVALID on a type error. */
export class TypeChecker {
  readonly ruleTypes = new Map<string, Ty>();

  typeOf(t: Term, env: Map<string, Ty>): Ty {
    switch (t.k) {
      case "scalar":
        return ty(scalarType(t.v));
      case "var":
        return env.get(t.name) ?? ANY;
      case "rule":
        return this.ruleTypes.get(t.name) ?? ANY;
      case "ref":
        this.typeOf(t.head, env);
        t.path.forEach((p) => this.typeOf(p, env));
        return ANY;
      case "array":
        return ty(T.arr, elements(t.items.map((x) => this.typeOf(x, env))));
      case "set":
        return ty(T.set, elements(t.items.map((x) => this.typeOf(x, env))));
      case "object":
        t.entries.forEach(([k]) => this.typeOf(k, env));
        return ty(T.obj, elements(t.entries.map(([, v]) => this.typeOf(v, env))));
      case "member": {
        const coll = this.typeOf(t.coll, env);
        const value = this.typeOf(t.value, env);
        if (t.key !== undefined) this.typeOf(t.key, env);
        // Only a collection whose element types are all known can reject a member statically.
        if ((coll.m & ~(T.arr | T.set | T.obj)) === 0 && coll.e !== 0 && (value.m & coll.e) === 0) {
          invalid("rego_type_error: match error (the value can never be a member of the collection)", t.pos);
        }
        return ty(T.bool);
      }
      case "compr":
        this.body(t.body, new Map(env));
        return ty(t.kind === "array" ? T.arr : t.kind === "set" ? T.set : T.obj);
      case "call":
        return this.call(t, env);
      default:
        return ANY;
    }
  }

  private call(t: Extract<Term, { k: "call" }>, env: Map<string, Ty>): Ty {
    const b = BUILTINS[t.name];
    if (b === undefined) unsupported(`the builtin ${t.name}()`, t.pos);
    if (b.args.length !== t.args.length) invalid(`${t.name} takes ${b.args.length} argument(s), got ${t.args.length}`, t.pos);
    const types = t.args.map((a) => this.typeOf(a, env));
    types.forEach((x, i) => {
      if ((x.m & b.args[i]!) === 0) invalid(`rego_type_error: ${t.name}: argument ${i + 1} has the wrong type`, t.pos);
    });
    if (t.name === "minus") return ty(types.every((x) => (x.m & T.num) !== 0) ? T.num & b.result : b.result);
    return ty(b.result);
  }

  body(lits: Literal[], env: Map<string, Ty>): void {
    for (const lit of lits) {
      switch (lit.k) {
        case "expr": {
          const t = lit.term;
          // OPA type-checks a top-level == like unification: operands of disjoint static types are an
          // error. (Nested inside another expression it is a plain call and is not checked.)
          if (t.k === "call" && t.name === "equal") {
            const [a, b] = t.args.map((x) => this.typeOf(x, env)) as [Ty, Ty];
            if ((a.m & b.m) === 0) invalid("rego_type_error: match error (operands of == can never be equal)", t.pos);
          }
          this.typeOf(t, env);
          break;
        }
        case "assign":
        case "unify": {
          const r = this.typeOf(lit.rhs, env);
          const l = this.typeOf(lit.lhs, env);
          if (lit.lhs.k === "var" && !env.has(lit.lhs.name)) env.set(lit.lhs.name, r);
          else if (lit.rhs.k === "var" && !env.has(lit.rhs.name)) env.set(lit.rhs.name, l);
          break;
        }
        case "not":
          this.body([lit.lit], new Map(env));
          break;
        case "someIn": {
          const coll = this.typeOf(lit.coll, env);
          // Iterating a value statically known not to be a collection is an error, except for a literal
          // scalar, which OPA leaves to evaluation (undefined).
          if (lit.coll.k !== "scalar" && (coll.m & (T.arr | T.obj | T.set)) === 0) {
            invalid("rego_type_error: undefined ref (some … in iterates over a non-collection)", lit.pos);
          }
          env.set(lit.value, ANY);
          if (lit.key !== undefined) env.set(lit.key, ANY);
          break;
        }
        case "every": {
          this.typeOf(lit.coll, env);
          const inner = new Map(env);
          inner.set(lit.value, ANY);
          if (lit.key !== undefined) inner.set(lit.key, ANY);
          this.body(lit.body, inner);
          break;
        }
        case "someDecl":
          lit.names.forEach((n) => env.delete(n));
          break;
      }
    }
  }
}
