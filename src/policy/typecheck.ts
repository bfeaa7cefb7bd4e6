/**
 * Static type errors, as OPA's type checker reports them at compile time: builtin arguments whose
 * type is known and wrong (`count(1)`), `==` between types that can never be equal (`1 == "a"`),
 * membership of a value that no element of a literal collection can match (`true in [1]`), and
 * references to keys that cannot exist in a statically known structure (`{"a": 1}.b`).
 */
import type { Literal, Term } from "./ast.js";
import { BUILTINS, T } from "./builtins.js";
import { invalid, unsupported } from "./diagnostics.js";
import { typeName, valueKey, type Value } from "./values.js";

/**
 * A static type: `m` the possible basic types; for collections `e` the element (object: value)
 * types and `k` the object key types (0 = unknown); from literals also the exact `items` of an
 * array or `fields` of an object (by value key), as OPA's structural types.
 */
export interface Ty {
  m: number;
  e: number;
  k?: number;
  items?: Ty[];
  fields?: Map<string, Ty>;
}

const ANY: Ty = { m: T.any, e: 0 };
const COLLECTIONS = T.arr | T.set | T.obj;

function ty(m: number, e = 0): Ty {
  return { m, e };
}

/**
 * Union of two static types (structure is kept only for the masks).
 *
 * @example
 * ```ts
 * unionTy({ m: T.num, e: 0 }, { m: T.str, e: 0 }).m; // T.num | T.str
 * ```
 */
export function unionTy(a: Ty, b: Ty): Ty {
  const k = a.k !== undefined && b.k !== undefined ? a.k | b.k : undefined;
  return {
    m: a.m | b.m,
    e: a.e !== 0 && b.e !== 0 ? a.e | b.e : 0,
    ...(k === undefined ? {} : { k }),
  };
}

/** Whether `t` is known to be exactly one basic type. */
function only(t: Ty, m: number): boolean {
  return t.m === m;
}

function scalarType(v: Value): number {
  return { null: T.null, boolean: T.bool, number: T.num, string: T.str }[typeName(v)] ?? T.any;
}

function elements(types: Ty[]): number {
  return types.length === 0 ? 0 : types.reduce((acc, t) => acc | t.m, 0);
}

/**
 * Walks compiled bodies with an environment of variable types; throws ERR_POLICY_INVALID on a type error.
 *
 * @example
 * ```ts
 * new TypeChecker().body(compiledBody, new Map()); // throws ERR_POLICY_INVALID on count(1)
 * ```
 */
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
        return this.ref(t, env);
      case "array": {
        const items = t.items.map((x) => this.typeOf(x, env));
        return { ...ty(T.arr, elements(items)), items };
      }
      case "set":
        return ty(T.set, elements(t.items.map((x) => this.typeOf(x, env))));
      case "object": {
        const keys = t.entries.map(([k]) => this.typeOf(k, env));
        const values = t.entries.map(([, v]) => this.typeOf(v, env));
        const out: Ty = { ...ty(T.obj, elements(values)), k: elements(keys) };
        if (t.entries.every(([k]) => k.k === "scalar")) {
          out.fields = new Map(
            t.entries.map(([k], i) => [valueKey((k as { v: Value }).v), values[i]!]),
          );
        }
        return out;
      }
      case "member": {
        const coll = this.typeOf(t.coll, env);
        const value = this.typeOf(t.value, env);
        const key = t.key === undefined ? undefined : this.typeOf(t.key, env);
        // Only a collection whose element types are all known can reject a member statically.
        const never =
          ((coll.m & ~COLLECTIONS) === 0 && coll.e !== 0 && (value.m & coll.e) === 0) ||
          (key !== undefined && only(coll, T.arr) && (key.m & T.num) === 0) ||
          (key !== undefined && only(coll, T.set) && coll.e !== 0 && (key.m & coll.e) === 0) ||
          (key !== undefined &&
            only(coll, T.obj) &&
            coll.k !== undefined &&
            coll.k !== 0 &&
            (key.m & coll.k) === 0);
        if (never)
          invalid(
            "rego_type_error: match error (the value can never be a member of the collection)",
            t.pos,
          );
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

  /** Key and value types of `some k, v in coll`, as far as the collection's type tells. */
  private iterationTypes(coll: Ty): [Ty, Ty] {
    const elem = coll.e === 0 ? ANY : ty(coll.e);
    if (only(coll, T.arr)) return [ty(T.num), elem];
    if (only(coll, T.set)) return [elem, elem];
    if (only(coll, T.obj)) return [coll.k === undefined || coll.k === 0 ? ANY : ty(coll.k), elem];
    return [ANY, ANY];
  }

  /** A reference into a statically known structure must name a key that can exist (OPA: "undefined ref"). */
  private ref(t: Extract<Term, { k: "ref" }>, env: Map<string, Ty>): Ty {
    let cur: Ty | undefined = this.typeOf(t.head, env);
    for (const seg of t.path) {
      const segTy = this.typeOf(seg, env);
      if (cur === undefined) continue;
      if ((cur.m & COLLECTIONS) === 0)
        invalid("rego_type_error: undefined ref (reference into a non-collection)", seg.pos);
      const key = seg.k === "scalar" ? seg.v : undefined;
      let next: Ty | undefined;
      if (only(cur, T.arr)) {
        if ((segTy.m & T.num) === 0)
          invalid("rego_type_error: undefined ref (array index is not a number)", seg.pos);
        if (cur.items !== undefined && key !== undefined) {
          next = typeof key === "number" ? cur.items[key] : undefined;
          if (next === undefined)
            invalid("rego_type_error: undefined ref (array index out of range)", seg.pos);
        } else next = cur.e === 0 ? undefined : ty(cur.e);
      } else if (only(cur, T.set)) {
        if (cur.e !== 0 && (segTy.m & cur.e) === 0)
          invalid("rego_type_error: undefined ref (key can never be in the set)", seg.pos);
        next = cur.e === 0 ? undefined : ty(cur.e);
      } else if (only(cur, T.obj)) {
        if (cur.fields !== undefined && key !== undefined) {
          next = cur.fields.get(valueKey(key));
          if (next === undefined)
            invalid("rego_type_error: undefined ref (no such key in the object)", seg.pos);
        } else next = undefined;
      }
      cur = next;
    }
    return cur ?? ANY;
  }

  private call(t: Extract<Term, { k: "call" }>, env: Map<string, Ty>): Ty {
    if (t.user === true) {
      t.args.forEach((a) => this.typeOf(a, env));
      return this.ruleTypes.get(t.name) ?? ANY;
    }
    const b = BUILTINS[t.name];
    if (b === undefined) unsupported(`the builtin ${t.name}()`, t.pos);
    if (b.args.length !== t.args.length)
      invalid(`${t.name} takes ${b.args.length} argument(s), got ${t.args.length}`, t.pos);
    const types = t.args.map((a) => this.typeOf(a, env));
    types.forEach((x, i) => {
      if ((x.m & b.args[i]!) === 0)
        invalid(`rego_type_error: ${t.name}: argument ${i + 1} has the wrong type`, t.pos);
    });
    // As OPA, a result type is the builtin's declared one (minus: number or set, whatever its operands).
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
            if ((a.m & b.m) === 0)
              invalid("rego_type_error: match error (operands of == can never be equal)", t.pos);
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
          this.body([...(lit.pre ?? []), lit.hoisted ?? lit.lit], new Map(env));
          break;
        case "someIn": {
          const coll = this.typeOf(lit.coll, env);
          const [keyTy, valueTy] = this.iterationTypes(coll);
          // Iterating a value statically known not to be a collection is an error, except for a literal
          // scalar, which OPA leaves to evaluation (undefined).
          if (lit.coll.k !== "scalar" && (coll.m & (T.arr | T.obj | T.set)) === 0) {
            invalid(
              "rego_type_error: undefined ref (some … in iterates over a non-collection)",
              lit.pos,
            );
          }
          env.set(lit.value, valueTy);
          if (lit.key !== undefined) env.set(lit.key, keyTy);
          break;
        }
        case "every": {
          this.typeOf(lit.coll, env);
          // OPA does not type every's variables from the collection (unlike some … in).
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
