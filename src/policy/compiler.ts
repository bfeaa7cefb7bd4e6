/**
 * Compile step between parsing and evaluation, mirroring the checks OPA's compiler makes so that
 * a policy OPA rejects is rejected here too: name resolution (rules, `input`, `data.<package>`),
 * `:=` redeclaration, safety (every variable bound before use, with OPA-style reordering of body
 * expressions), static type errors on builtin arguments, and recursion between rules.
 */
import type { Literal, Module, Pos, Term } from "./ast.js";
import { invalid, unsupported } from "./diagnostics.js";
import { rewriteNegation } from "./negation.js";
import { scopeLocals } from "./scopes.js";
import { orderBody, termSafety } from "./safety.js";
import { T } from "./builtins.js";
import { TypeChecker, unionTy, type Ty } from "./typecheck.js";

export interface CompiledDef {
  value: Term;
  body: Literal[] | undefined;
  /** Argument patterns of a function definition. */
  args: Term[] | undefined;
  /** `else` branches, tried in order when the body has no solution. */
  elses: { value: Term; body: Literal[] | undefined }[];
  /** Key of a partial object rule definition. */
  key: Term | undefined;
}

export interface CompiledRule {
  name: string;
  defs: CompiledDef[];
  default: Term | undefined;
  /** Every definition's head is the same constant, so one successful body decides the rule. */
  constantHead: boolean;
  /** A multi-value (`contains`) rule: its value is the set of all head values, empty when none. */
  multi: boolean;
  /** Number of arguments of a user-defined function; `undefined` for rules. */
  arity: number | undefined;
  /** A partial object rule (`name[key] := value`): its value is the object of all pairs, empty when none. */
  object: boolean;
}

export interface CompiledPolicy {
  pkg: string[];
  rules: Map<string, CompiledRule>;
}

// ---------------------------------------------------------------- name resolution

class Resolver {
  constructor(
    private readonly pkg: string[],
    private readonly ruleNames: Set<string>,
    private readonly functions: Map<string, number>,
  ) {}

  term(t: Term, scope: Set<string>): Term {
    switch (t.k) {
      case "var":
        if (scope.has(t.name)) return t;
        if (t.name === "input") return { k: "input", pos: t.pos };
        if (t.name === "data") unsupported("the whole `data` document", t.pos);
        if (this.functions.has(t.name))
          invalid(`function ${t.name} used as reference, not called`, t.pos);
        if (this.ruleNames.has(t.name)) return { k: "rule", name: t.name, pos: t.pos };
        return t;
      case "ref":
        return this.ref(t, scope);
      case "array":
      case "set":
        return { ...t, items: t.items.map((x) => this.term(x, scope)) };
      case "object":
        return {
          ...t,
          entries: t.entries.map(
            ([k, v]) => [this.term(k, scope), this.term(v, scope)] as [Term, Term],
          ),
        };
      case "call": {
        const args = t.args.map((x) => this.term(x, scope));
        // User functions shadow builtins; `data.<package>.f(x)` names one too.
        const prefix = `data.${this.pkg.join(".")}.`;
        const name = t.name.startsWith(prefix) ? t.name.slice(prefix.length) : t.name;
        const arity = this.functions.get(name);
        if (arity === undefined) return { ...t, args };
        if (arity !== args.length)
          invalid(`function ${name} has arity ${arity}, got ${args.length} argument(s)`, t.pos);
        return { ...t, name, args, user: true };
      }
      case "member":
        return {
          ...t,
          key: t.key && this.term(t.key, scope),
          value: this.term(t.value, scope),
          coll: this.term(t.coll, scope),
        };
      case "compr": {
        const inner = new Set(scope);
        const body = this.body(t.body, inner);
        return {
          ...t,
          key: t.key && this.term(t.key, inner),
          head: this.term(t.head, inner),
          body,
        };
      }
      default:
        return t;
    }
  }

  private ref(t: Extract<Term, { k: "ref" }>, scope: Set<string>): Term {
    const path = t.path.map((x) => this.term(x, scope));
    if (t.head.k === "var" && t.head.name === "data" && !scope.has("data")) {
      // data.<package>.<rule>...: only constant paths into this package are meaningful.
      let i = 0;
      for (; i < path.length && i < this.pkg.length; i++) {
        const seg = path[i]!;
        if (seg.k !== "scalar") unsupported("a variable key into `data`", seg.pos);
        if (seg.v !== this.pkg[i]) return { k: "undef", pos: t.pos };
      }
      if (i < this.pkg.length)
        unsupported("a reference to a parent of the package in `data`", t.pos);
      if (path.length === i) return { k: "pkg", pos: t.pos };
      const seg = path[i]!;
      if (seg.k !== "scalar" || typeof seg.v !== "string")
        unsupported("a variable key into `data`", seg.pos);
      if (!this.ruleNames.has(seg.v)) return { k: "undef", pos: t.pos };
      const head: Term = { k: "rule", name: seg.v, pos: seg.pos };
      return path.length === i + 1 ? head : { k: "ref", head, path: path.slice(i + 1), pos: t.pos };
    }
    const head = this.term(t.head, scope);
    return { ...t, head, path };
  }

  /** Resolves a body; names declared in it (`:=`, `some`) join `scope`, which the caller owns. */
  body(lits: Literal[], scope: Set<string>): Literal[] {
    const declaredHere = new Set<string>();
    const assignedHere = new Set<string>();
    const declare = (name: string, pos: Pos, assigned: boolean): void => {
      if (name === "input" || name === "data")
        invalid(`cannot declare a variable named ${name}`, pos);
      if (assigned && (assignedHere.has(name) || scope.has(name)))
        invalid(`var ${name} assigned above`, pos);
      if (!assigned && assignedHere.has(name)) invalid(`var ${name} assigned above`, pos);
      if (declaredHere.has(name) && !assignedHere.has(name))
        invalid(`var ${name} declared above`, pos);
      if (assigned) assignedHere.add(name);
      declaredHere.add(name);
      scope.add(name);
    };
    // `x := …` declares x for the whole body, but using x textually before it is an error in OPA.
    lits.forEach((lit, i) => {
      if (lit.k !== "assign") return;
      for (const name of patternVars(lit.lhs)) {
        for (const earlier of lits.slice(0, i)) {
          if (mentions(earlier, name)) invalid(`var ${name} referenced above`, lit.pos);
        }
      }
    });
    // `some x` must be used (OPA: "declared var x unused"), as must every's key and value.
    for (const lit of lits) {
      if (lit.k !== "someDecl") continue;
      for (const name of lit.names) {
        if (!lits.some((other) => other !== lit && mentions(other, name)))
          invalid(`declared var ${name.startsWith("_$") ? "_" : name} unused`, lit.pos);
      }
    }
    return lits.flatMap((lit) => this.hoistNegated(this.literal(lit, scope, declare)));
  }

  private hoisted = 0;

  /** OPA evaluates the dynamic parts of a negated expression outside the negation (see negation.ts). */
  private hoistNegated(lit: Literal): Literal[] {
    if (lit.k !== "not") return [lit];
    return rewriteNegation(lit, (pos) => ({ k: "var", name: `__h$${this.hoisted++}`, pos }));
  }

  private literal(
    lit: Literal,
    scope: Set<string>,
    declare: (n: string, p: Pos, a: boolean) => void,
  ): Literal {
    switch (lit.k) {
      case "expr":
        return { ...lit, term: this.term(lit.term, scope) };
      case "assign": {
        if (patternVars(lit.lhs).length === 0 && lit.lhs.k !== "array" && lit.lhs.k !== "object") {
          invalid("the left side of := must be a variable or an array/object pattern", lit.pos);
        }
        const rhs = this.term(lit.rhs, scope);
        for (const name of patternVars(lit.lhs)) declare(name, lit.pos, true);
        return { ...lit, lhs: this.term(lit.lhs, scope), rhs };
      }
      case "unify":
        return { ...lit, lhs: this.term(lit.lhs, scope), rhs: this.term(lit.rhs, scope) };
      case "not":
        return { ...lit, lit: this.literal(lit.lit, new Set(scope), () => undefined) };
      case "someDecl":
        for (const n of lit.names) declare(n, lit.pos, false);
        return lit;
      case "someIn": {
        const coll = this.term(lit.coll, scope);
        if (lit.key !== undefined) declare(lit.key, lit.pos, false);
        declare(lit.value, lit.pos, false);
        return { ...lit, coll };
      }
      case "every": {
        for (const name of [lit.key, lit.value]) {
          if (
            name !== undefined &&
            !name.startsWith("_$") &&
            !lit.body.some((l) => mentions(l, name))
          )
            invalid(`declared var ${name} unused`, lit.pos);
        }
        const coll = this.term(lit.coll, scope);
        const inner = new Set(scope);
        if (lit.key !== undefined) inner.add(lit.key);
        inner.add(lit.value);
        return { ...lit, coll, body: this.body(lit.body, inner) };
      }
    }
  }
}

/** Variables of a function argument pattern (any variable inside it). */
function argPatternVars(t: Term): string[] {
  if (t.k === "var") return [t.name];
  if (t.k === "array" || t.k === "set") return t.items.flatMap(argPatternVars);
  if (t.k === "object") return t.entries.flatMap(([, v]) => argPatternVars(v));
  return [];
}

/** Variables a pattern (`:=` left side) binds. */
function patternVars(t: Term): string[] {
  if (t.k === "var") return [t.name];
  if (t.k === "array") return t.items.flatMap(patternVars);
  if (t.k === "object") return t.entries.flatMap(([, v]) => patternVars(v));
  return [];
}

function mentions(lit: Literal, name: string): boolean {
  return JSON.stringify(lit, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)).includes(
    `"k":"var","name":${JSON.stringify(name)}`,
  );
}

// ---------------------------------------------------------------- rules

/** Dependency marker for `data.<package>`, which depends on every rule. */
const PKG_DEP = "\u0000pkg";

function ruleDeps(x: unknown, out: Set<string>): void {
  if (Array.isArray(x)) x.forEach((e) => ruleDeps(e, out));
  else if (x !== null && typeof x === "object") {
    const o = x as { k?: string; name?: string };
    if (o.k === "rule" && typeof o.name === "string") out.add(o.name);
    if (o.k === "pkg") out.add(PKG_DEP);
    if (o.k === "call" && (o as { user?: boolean }).user === true && typeof o.name === "string")
      out.add(o.name);
    for (const v of Object.values(o)) ruleDeps(v, out);
  }
}

/**
 * Compiles a parsed module; throws ERR_POLICY_INVALID where OPA's compiler would fail.
 *
 * @example
 * ```ts
 * const compiled = compileModule(parseModule("package model\nallow if input.ok"));
 * compiled.rules.get("allow")?.defs.length; // 1
 * ```
 */
export function compileModule(mod: Module): CompiledPolicy {
  scopeLocals(mod);
  const names = new Set(mod.rules.map((r) => r.name));
  const functions = new Map(
    mod.rules.flatMap((r) => (r.args === undefined ? [] : [[r.name, r.args.length] as const])),
  );
  const resolver = new Resolver(mod.pkg, names, functions);
  const rules = new Map<string, CompiledRule>();
  const deps = new Map<string, Set<string>>();
  for (const def of mod.rules) {
    const existing = rules.get(def.name);
    const arity = def.args?.length;
    const object = def.key !== undefined;
    const rule = existing ?? {
      name: def.name,
      defs: [],
      default: undefined,
      constantHead: !def.multi && !object,
      multi: def.multi,
      arity,
      object,
    };
    rules.set(def.name, rule);
    // A name is single-valued (with an optional default), multi-valued, an object rule, or a function of one arity.
    const kindDiffers =
      existing !== undefined &&
      (existing.multi !== def.multi || existing.arity !== arity || existing.object !== object);
    if (kindDiffers || ((def.multi || rule.object) && def.isDefault)) {
      invalid(`conflicting rules data.${mod.pkg.join(".")}.${def.name} found`, def.pos);
    }
    const d = deps.get(def.name) ?? new Set<string>();
    deps.set(def.name, d);
    if (def.isDefault) {
      if (rule.multi || rule.object)
        invalid(`conflicting rules data.${mod.pkg.join(".")}.${def.name} found`, def.pos);
      if (rule.default !== undefined)
        invalid(`multiple default rules data.${mod.pkg.join(".")}.${def.name} found`, def.pos);
      const value = resolver.term(def.value, new Set());
      const r = termSafety(value, new Set());
      if (
        !r.ok ||
        JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? 0 : v)).includes(
          '"k":"rule"',
        )
      ) {
        invalid(`default rule value must be a constant`, def.pos);
      }
      rule.default = value;
      continue;
    }
    // Function arguments are patterns whose variables are bound by the call.
    const argVars = (def.args ?? []).flatMap(argPatternVars);
    const args = def.args?.map((a) => resolver.term(a, new Set(argVars)));
    let key: Term | undefined;
    const branch = (
      rawValue: Term,
      rawBody: Literal[] | undefined,
      rawKey?: Term,
    ): { value: Term; body: Literal[] | undefined } => {
      const scope = new Set<string>(argVars);
      let body = rawBody === undefined ? undefined : resolver.body(rawBody, scope);
      const value = resolver.term(rawValue, scope);
      const headKey = rawKey === undefined ? undefined : resolver.term(rawKey, scope);
      let bound = new Set<string>(argVars);
      if (body !== undefined) {
        const r = orderBody(body, bound, true);
        if (r.ok) ({ body, bound } = r);
      }
      for (const t of headKey === undefined ? [value] : [headKey, value]) {
        const head = termSafety(t, bound);
        if (!head.ok)
          invalid(`var ${head.unsafe.join(", ")} is unsafe in the head of ${def.name}`, def.pos);
      }
      if (headKey !== undefined) key = headKey;
      return { value, body };
    };
    const { value, body } = branch(def.value, def.body, def.key);
    const elses = def.elses.map((e) => branch(e.value, e.body));
    if (value.k !== "scalar" || rule.multi || rule.object || elses.length > 0)
      rule.constantHead = false;
    else if (rule.defs.some((x) => x.value.k !== "scalar" || x.value.v !== value.v))
      rule.constantHead = false;
    rule.defs.push({ value, body, args, elses, key });
    ruleDeps([value, body, args, elses, key], d);
  }
  // Recursion is a compile error in OPA; rule types are inferred in dependency order.
  const checker = new TypeChecker();
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string, pos: Pos): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) invalid(`rego_recursion_error: rule ${name} is recursive`, pos);
    visiting.add(name);
    for (const dep of deps.get(name) ?? []) {
      if (dep === PKG_DEP) [...rules.keys()].forEach((r) => visit(r, pos));
      else visit(dep, pos);
    }
    const rule = rules.get(name)!;
    let type: Ty | undefined =
      rule.default === undefined ? undefined : checker.typeOf(rule.default, new Map());
    for (const def of rule.defs) {
      const env = new Map<string, Ty>();
      if (def.body !== undefined) checker.body(def.body, env);
      const t = checker.typeOf(def.value, env);
      type = type === undefined ? t : unionTy(type, t);
      for (const e of def.elses) {
        const elseEnv = new Map<string, Ty>();
        if (e.body !== undefined) checker.body(e.body, elseEnv);
        type = unionTy(type, checker.typeOf(e.value, elseEnv));
      }
    }
    if (rule.multi) type = { m: T.set, e: rule.defs.length > 0 && type !== undefined ? type.m : 0 };
    if (rule.object) type = { m: T.obj, e: type?.m ?? 0 };
    if (type !== undefined) checker.ruleTypes.set(name, type);
    visiting.delete(name);
    done.add(name);
  };
  for (const def of mod.rules) visit(def.name, def.pos);
  return { pkg: mod.pkg, rules };
}
