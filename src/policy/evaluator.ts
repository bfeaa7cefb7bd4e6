/**
 * Top-down evaluation of a compiled policy, in continuation-passing style: every term and body
 * may have several solutions (references with unbound keys, `some … in`), each handed to a
 * continuation that returns `true` to stop the enumeration early.
 *
 * Hostile policies are bounded by a step budget and a wall-clock deadline; exceeding either
 * raises ERR_POLICY_EVAL, so evaluation always fails closed.
 */
import { CryptoTensorsError } from "../errors.js";
import type { Literal, Term } from "./ast.js";
import { BUILTINS, type BuiltinContext } from "./builtins.js";
import type { CompiledDef, CompiledPolicy, CompiledRule } from "./compiler.js";
import { bounded } from "./budget.js";
import { charge, metered } from "./meter.js";
import { arrayAt, RegoObject, RegoSet, valueEquals, valueKey, type Value } from "./values.js";

/** Limits applied to one evaluation. */
export interface EvalLimits {
  /** Maximum evaluation steps (terms and literals visited); default 1,000,000. */
  maxSteps?: number;
  /** Maximum wall-clock milliseconds; default 250. */
  timeoutMs?: number;
}

type K = () => boolean;
type KV = (v: Value) => boolean;
type Env = Map<string, Value>;

function evalError(message: string): never {
  throw new CryptoTensorsError("ERR_POLICY_EVAL", `policy evaluation error: ${message}`);
}

/**
 * Calls `f` with each (key, value) of a collection until it returns true (stop); returns whether it
 * stopped, or `undefined` when the value is not a collection. Loops directly (no pair arrays): this
 * is the hot path of `some`/`every`.
 */
function forEachEntry(v: Value, f: (key: Value, value: Value) => boolean): boolean | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (f(i, v[i]!)) return true;
    return false;
  }
  // Objects and sets iterate in OPA's sorted order, so comprehension results come out in the same order.
  if (v instanceof RegoObject) {
    for (const [key, value] of v.sorted()) if (f(key, value)) return true;
    return false;
  }
  if (v instanceof RegoSet) {
    for (const x of v.sorted()) if (f(x, x)) return true;
    return false;
  }
  return undefined;
}

/** Argument evaluation order per call node (see `call`), computed once. */
const argOrders = new WeakMap<Term, number[]>();

function lookup(coll: Value, key: Value): Value | undefined {
  if (Array.isArray(coll)) return arrayAt(coll, key);
  if (coll instanceof RegoObject) return coll.get(key);
  if (coll instanceof RegoSet) return coll.has(key) ? key : undefined;
  return undefined;
}

/**
 * One evaluation of one query against a compiled policy and an input document.
 *
 * @example
 * ```ts
 * const compiled = compileModule(parseModule("package model\nallow := input.ok"));
 * new Evaluation(compiled, fromJS({ ok: true })).query(["model", "allow"]); // true
 * ```
 */
export class Evaluation {
  private steps = 0;
  /** Step count at which the clock is read next. */
  private nextClock = 1024;
  private readonly maxSteps: number;
  private readonly deadline: number;
  private readonly ruleCache = new Map<string, Value | undefined>();
  private readonly inProgress = new Set<string>();
  private readonly funcCache = new Map<string, Value | undefined>();
  private readonly ctx: BuiltinContext;
  private env: Env = new Map();

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly input: Value | undefined,
    limits: EvalLimits = {},
    nowNs: bigint = BigInt(Date.now()) * 1_000_000n,
  ) {
    this.maxSteps = limits.maxSteps ?? 1_000_000;
    this.nextClock = Math.min(1024, this.maxSteps + 1);
    this.deadline = Date.now() + (limits.timeoutMs ?? 250);
    this.ctx = { nowNs };
  }

  /** Value of `data.<path>`; `undefined` when the rule is undefined or absent. */
  query(path: string[]): Value | undefined {
    const pkg = this.policy.pkg;
    if (path.length !== pkg.length + 1 || pkg.some((p, i) => p !== path[i])) return undefined;
    // Builtins and value operations charge their work to the same budget (budget.ts).
    return metered(
      (units) => this.charge(units),
      () => this.rule(path[pkg.length]!),
    );
  }

  private tick(): void {
    if (++this.steps >= this.nextClock) this.limits();
  }

  /** Adds work units (builtins, hashing, comparisons) to the step count. */
  private charge(units: number): void {
    this.steps += units;
    if (this.steps >= this.nextClock) this.limits();
    // A large piece of work (~0.1 µs per unit) must also fit in the time left: refuse it up front
    // rather than run past the limit.
    if (units >= 4096 && Date.now() + units / 10_000 > this.deadline)
      evalError("exceeded the time limit; simplify the policy");
  }

  private limits(): void {
    if (this.steps > this.maxSteps)
      evalError(`exceeded the budget of ${this.maxSteps} steps; simplify the policy`);
    this.nextClock = Math.min(this.steps + 1024, this.maxSteps + 1);
    if (Date.now() > this.deadline) evalError("exceeded the time limit; simplify the policy");
  }

  rule(name: string): Value | undefined {
    if (this.ruleCache.has(name)) return this.ruleCache.get(name);
    const rule = this.policy.rules.get(name);
    if (rule === undefined || rule.arity !== undefined) return undefined;
    if (this.inProgress.has(name)) evalError(`rule ${name} depends on itself`);
    this.inProgress.add(name);
    // Rule bodies see none of the caller's local variables.
    const saved = this.env;
    this.env = new Map();
    try {
      const value = this.evalRule(rule);
      this.ruleCache.set(name, value);
      return value;
    } finally {
      this.env = saved;
      this.inProgress.delete(name);
    }
  }

  private evalRule(rule: CompiledRule): Value | undefined {
    if (rule.object) {
      const pairs = new RegoObject();
      for (const def of rule.defs) {
        const emit: K = () =>
          this.term(def.key!, (key) =>
            this.term(def.value, (v) => {
              const prev = pairs.get(key);
              if (prev !== undefined && !valueEquals(prev, v))
                evalError(`object keys must be unique in rule ${rule.name} (eval_conflict_error)`);
              pairs.set(key, v);
              return false;
            }),
          );
        if (def.body === undefined) emit();
        else this.body(def.body, 0, emit);
      }
      return bounded(pairs);
    }
    if (rule.multi) {
      const members = new RegoSet();
      const add: KV = (v) => (members.add(v), false);
      for (const def of rule.defs) {
        if (def.body === undefined) this.term(def.value, add);
        else this.body(def.body, 0, () => this.term(def.value, add));
      }
      return bounded(members);
    }
    let found: Value | undefined;
    for (const def of rule.defs) {
      const onValue: KV = (v) => {
        if (found === undefined) found = v;
        else if (!valueEquals(found, v))
          evalError(`complete rule ${rule.name} produced conflicting values (eval_conflict_error)`);
        // A constant head cannot conflict with itself: one solution decides the rule, as OPA's early exit.
        return rule.constantHead;
      };
      const stop = this.definition(def, onValue);
      if (stop && rule.constantHead) break;
    }
    if (found !== undefined) return found;
    if (rule.default === undefined) return undefined;
    let dflt: Value | undefined;
    this.term(rule.default, (v) => ((dflt = v), true));
    return dflt;
  }

  /**
   * Values of one definition: those of its body's solutions, or else of the first `else` branch
   * that produces a value.
   */
  private definition(def: CompiledDef, onValue: KV): boolean {
    // As OPA, a branch counts only if it produced a value (a body whose head is undefined falls through).
    for (const branch of [def, ...def.elses]) {
      let produced = false;
      const emit: KV = (v) => ((produced = true), onValue(v));
      const stop =
        branch.body === undefined
          ? this.term(branch.value, emit)
          : this.body(branch.body, 0, () => this.term(branch.value, emit));
      if (produced || stop) return stop;
    }
    return false;
  }

  /** Calls a user-defined function: every definition whose argument patterns match contributes its value. */
  private func(name: string, args: Value[]): Value | undefined {
    const rule = this.policy.rules.get(name)!;
    const cacheKey = `${name}(${args.map(valueKey).join(",")})`;
    if (this.funcCache.has(cacheKey)) return this.funcCache.get(cacheKey);
    const saved = this.env;
    this.env = new Map();
    let found: Value | undefined;
    try {
      const onValue: KV = (v) => {
        if (found === undefined) found = v;
        else if (!valueEquals(found, v))
          evalError(
            `function ${name} produced conflicting values for the same inputs (eval_conflict_error)`,
          );
        return false;
      };
      for (const def of rule.defs) {
        const patterns = def.args!;
        const matchArgs = (i: number): boolean => {
          if (i === patterns.length) return this.definition(def, onValue);
          return this.match(patterns[i]!, args[i]!, () => matchArgs(i + 1));
        };
        matchArgs(0);
      }
    } finally {
      this.env = saved;
    }
    if (found === undefined && rule.default !== undefined)
      this.term(rule.default, (v) => ((found = v), true));
    this.funcCache.set(cacheKey, found);
    return found;
  }

  private bind(name: string, v: Value, k: K): boolean {
    const had = this.env.has(name);
    const old = this.env.get(name);
    this.env.set(name, v);
    try {
      return k();
    } finally {
      if (had) this.env.set(name, old!);
      else this.env.delete(name);
    }
  }

  body(lits: Literal[], i: number, k: K): boolean {
    if (i === lits.length) return k();
    this.tick();
    const lit = lits[i]!;
    const next: K = () => this.body(lits, i + 1, k);
    switch (lit.k) {
      case "expr":
        return this.term(lit.term, (v) => v !== false && next());
      case "assign":
      case "unify":
        return this.unify(lit.lhs, lit.rhs, next);
      case "not": {
        const negated = lit.hoisted ?? lit.lit;
        const decide: K = () => {
          let holds = false;
          this.body([negated], 0, () => ((holds = true), true));
          return !holds && next();
        };
        // References moved out of the negation must be defined, or the body fails (as in OPA).
        return lit.pre === undefined ? decide() : this.body(lit.pre, 0, decide);
      }
      case "someDecl":
        return this.unbind(lit.names, next);
      case "someIn":
        return this.term(
          lit.coll,
          (c) =>
            forEachEntry(c, (key, value) => {
              this.tick();
              return this.bind(lit.value, value, () =>
                lit.key === undefined ? next() : this.bind(lit.key, key, next),
              );
            }) === true,
        );
      case "every":
        return this.term(lit.coll, (c) => {
          let holds = true;
          const check: K = () => this.body(lit.body, 0, () => true);
          // Stops at the first element for which the body has no solution.
          const stopped = forEachEntry(c, (key, value) => {
            holds = this.bind(lit.value, value, () =>
              lit.key === undefined ? check() : this.bind(lit.key, key, check),
            );
            return !holds;
          });
          return stopped === false && next();
        });
    }
  }

  /** `some x` declares fresh locals: hide any outer binding of the same name for the rest of the body. */
  private unbind(names: string[], k: K): boolean {
    const saved = names.filter((n) => this.env.has(n)).map((n) => [n, this.env.get(n)!] as const);
    for (const [n] of saved) this.env.delete(n);
    try {
      return k();
    } finally {
      for (const [n, v] of saved) this.env.set(n, v);
    }
  }

  private unbound(t: Term): boolean {
    return t.k === "var" && !this.env.has(t.name);
  }

  /** Whether `t` still has unbound variables in pattern positions (so it must be matched, not evaluated). */
  private isOpenPattern(t: Term): boolean {
    if (t.k === "var") return !this.env.has(t.name);
    if (t.k === "array") return t.items.some((x) => this.isOpenPattern(x));
    if (t.k === "object") return t.entries.some(([, v]) => this.isOpenPattern(v));
    return false;
  }

  private unify(a: Term, b: Term, k: K): boolean {
    if (
      a.k === "array" &&
      b.k === "array" &&
      a.items.length === b.items.length &&
      this.isOpenPattern(a) &&
      this.isOpenPattern(b)
    ) {
      return this.unifyPairs(
        a.items.map((x, i) => [x, b.items[i]!] as [Term, Term]),
        k,
      );
    }
    if (this.isOpenPattern(a)) return this.term(b, (v) => this.match(a, v, k));
    return this.term(a, (v) => this.match(b, v, k));
  }

  private unifyPairs(pairs: [Term, Term][], k: K): boolean {
    if (pairs.length === 0) return k();
    // Resolve first a pair that has a fully evaluable side, so its bindings can close the others.
    const idx = pairs.findIndex(([x, y]) => !this.isOpenPattern(x) || !this.isOpenPattern(y));
    const at = Math.max(idx, 0);
    const [x, y] = pairs[at]!;
    const rest = pairs.filter((_, i) => i !== at);
    return this.unify(x, y, () => this.unifyPairs(rest, k));
  }

  /** Matches a pattern term against a value, binding its unbound variables. */
  private match(t: Term, v: Value, k: K): boolean {
    this.tick();
    if (this.unbound(t)) return this.bind((t as { name: string }).name, v, k);
    if (t.k === "array" && this.isOpenPattern(t)) {
      if (!Array.isArray(v) || v.length !== t.items.length) return false;
      const step = (i: number): boolean =>
        i === t.items.length ? k() : this.match(t.items[i]!, v[i]!, () => step(i + 1));
      return step(0);
    }
    if (t.k === "object" && this.isOpenPattern(t)) {
      if (!(v instanceof RegoObject) || v.size !== t.entries.length) return false;
      const step = (i: number): boolean => {
        if (i === t.entries.length) return k();
        const [kt, vt] = t.entries[i]!;
        return this.term(kt, (key) => {
          const sub = v.get(key);
          return sub !== undefined && this.match(vt, sub, () => step(i + 1));
        });
      };
      return step(0);
    }
    return this.term(t, (x) => valueEquals(x, v) && k());
  }

  /** Evaluates a term, calling `k` with each of its values (none when undefined). */
  term(t: Term, k: KV): boolean {
    this.tick();
    switch (t.k) {
      case "scalar":
        return k(t.v);
      case "var": {
        const v = this.env.get(t.name);
        return v === undefined ? false : k(v);
      }
      case "input":
        return this.input === undefined ? false : k(this.input);
      case "rule": {
        const v = this.rule(t.name);
        return v === undefined ? false : k(v);
      }
      case "undef":
        return false;
      case "pkg": {
        const o = new RegoObject();
        for (const [name, rule] of this.policy.rules) {
          if (rule.arity !== undefined) continue;
          const v = this.rule(name);
          if (v !== undefined) o.set(name, v);
        }
        return k(o);
      }
      case "ref":
        return this.term(t.head, (base) => this.walk(base, t.path, 0, k));
      case "array":
        return this.terms(t.items, 0, [], (vs) => k(bounded(vs)));
      case "set":
        return this.terms(t.items, 0, [], (vs) => k(bounded(new RegoSet(vs))));
      case "object": {
        const flat = t.entries.flat();
        return this.terms(flat, 0, [], (vs) => {
          const o = new RegoObject();
          for (let i = 0; i < vs.length; i += 2) {
            const prev = o.get(vs[i]!);
            if (prev !== undefined && !valueEquals(prev, vs[i + 1]!))
              evalError("object keys must be unique");
            o.set(vs[i]!, vs[i + 1]!);
          }
          return k(bounded(o));
        });
      }
      case "call":
        return this.call(t, k);
      case "member":
        return this.term(t.coll, (c) =>
          this.term(t.value, (x) => {
            if (t.key === undefined) return k(memberOf(c, x));
            return this.term(t.key, (key) => {
              const at = lookup(c, key);
              return k(
                at !== undefined &&
                  !(c instanceof RegoSet && !valueEquals(key, x)) &&
                  valueEquals(at, x),
              );
            });
          }),
        );
      case "compr":
        return k(this.comprehension(t));
    }
  }

  private comprehension(t: Extract<Term, { k: "compr" }>): Value {
    const items: Value[] = [];
    const obj = new RegoObject();
    this.body(t.body, 0, () => {
      if (t.kind !== "object") return this.term(t.head, (v) => (items.push(v), false));
      return this.term(t.key!, (key) =>
        this.term(t.head, (v) => {
          const prev = obj.get(key);
          if (prev !== undefined && !valueEquals(prev, v))
            evalError("object comprehension produced conflicting keys (eval_conflict_error)");
          obj.set(key, v);
          return false;
        }),
      );
    });
    if (t.kind === "object") return bounded(obj);
    return bounded(t.kind === "set" ? new RegoSet(items) : items);
  }

  private terms(ts: Term[], i: number, acc: Value[], k: (vs: Value[]) => boolean): boolean {
    if (i === ts.length) return k(acc.slice());
    return this.term(ts[i]!, (v) => {
      acc.push(v);
      try {
        return this.terms(ts, i + 1, acc, k);
      } finally {
        acc.pop();
      }
    });
  }

  private walk(base: Value, path: Term[], i: number, k: KV): boolean {
    if (i === path.length) return k(base);
    const seg = path[i]!;
    if (this.unbound(seg)) {
      const name = (seg as { name: string }).name;
      return (
        forEachEntry(base, (key, value) => {
          this.tick();
          return this.bind(name, key, () => this.walk(value, path, i + 1, k));
        }) === true
      );
    }
    return this.term(seg, (key) => {
      const next = lookup(base, key);
      return next !== undefined && this.walk(next, path, i + 1, k);
    });
  }

  private call(t: Extract<Term, { k: "call" }>, k: KV): boolean {
    const builtin = BUILTINS[t.name]!; // absent for user functions (t.user)
    // References that bind variables are evaluated before plain variables, as OPA's compiler does.
    let order = argOrders.get(t);
    if (order === undefined) {
      order = t.args
        .map((_, i) => i)
        .sort((x, y) => Number(t.args[x]!.k === "var") - Number(t.args[y]!.k === "var"));
      argOrders.set(t, order);
    }
    const argOrder = order;
    const args: Value[] = new Array<Value>(t.args.length);
    const step = (j: number): boolean => {
      if (j === argOrder.length) {
        const r = t.user === true ? this.func(t.name, args) : builtin.fn(args, this.ctx);
        return r === undefined ? false : k(bounded(r));
      }
      const idx = argOrder[j]!;
      return this.term(t.args[idx]!, (v) => {
        args[idx] = v;
        return step(j + 1);
      });
    };
    return step(0);
  }
}

function memberOf(c: Value, x: Value): boolean {
  if (Array.isArray(c)) {
    charge(c.length);
    return c.some((e) => valueEquals(e, x));
  }
  if (c instanceof RegoSet) return c.has(x);
  if (c instanceof RegoObject) {
    charge(c.size);
    for (const [, v] of c.entries.values()) if (valueEquals(v, x)) return true;
  }
  return false;
}
