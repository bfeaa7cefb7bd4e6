/**
 * Recursive-descent parser for the supported Rego subset. Constructs outside the subset raise
 * ERR_POLICY_UNSUPPORTED naming the construct; malformed text raises ERR_POLICY_INVALID.
 * Rego v1 syntax by default, as OPA 1.x and the reference (regorus 0.4) parse it: a body needs
 * `if`. With the `v0` option the pre-1.0 form (`allow { … }`) is accepted too, like
 * `opa --v0-compatible` (keywords are then available without `future.keywords` imports).
 */
import { CryptoTensorsError } from "../errors.js";
import { unsupported } from "./diagnostics.js";
import type { Literal, Module, Pos, RuleDef, Term } from "./ast.js";
import { syntaxError, tokenize, type Token } from "./lexer.js";
import { decimalValue } from "./gonumber.js";
import { type Value, withText } from "./values.js";

const MAX_DEPTH = 64;
const RELATIONS: Record<string, string> = {
  "==": "equal",
  "!=": "neq",
  "<": "lt",
  "<=": "lte",
  ">": "gt",
  ">=": "gte",
};
const ARITH: Record<string, string> = { "+": "plus", "-": "minus" };
const FACTOR: Record<string, string> = { "*": "mul", "/": "div", "%": "rem" };
const FUTURE_KEYWORDS = new Set(["in", "every", "if", "contains"]);

class Parser {
  private i = 0;
  private depth = 0;
  private wildcards = 0;

  constructor(
    private readonly toks: Token[],
    private readonly v0: boolean,
  ) {}

  private peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private is(text: string, o = 0): boolean {
    const t = this.peek(o);
    return (t.type === "op" || t.type === "ident") && t.text === text;
  }
  private expect(text: string): Token {
    const t = this.next();
    if (t.text !== text || (t.type !== "op" && t.type !== "ident"))
      this.fail(`expected "${text}", found ${this.describe(t)}`, t);
    return t;
  }
  private ident(): Token {
    const t = this.next();
    if (t.type !== "ident") this.fail(`expected a name, found ${this.describe(t)}`, t);
    return t;
  }
  private describe(t: Token): string {
    return t.type === "eof" ? "end of policy" : JSON.stringify(t.text);
  }
  private fail(message: string, t: Token = this.peek()): never {
    syntaxError(message, t.line, t.col);
  }
  private pos(t: Token = this.peek()): Pos {
    return { line: t.line, col: t.col };
  }

  parseModule(): Module {
    this.expect("package");
    const pkg = [this.ident().text];
    while (this.is(".")) {
      this.next();
      pkg.push(this.ident().text);
    }
    let regoV1 = false;
    while (this.is("import")) {
      const at = this.pos(this.next());
      const path = [this.ident().text];
      while (this.is(".") && !this.peek().nl) {
        this.next();
        path.push(this.ident().text);
      }
      if (this.is("as")) unsupported("import aliases", at);
      const p = path.join(".");
      if (p === "rego.v1") regoV1 = true;
      else if (
        p === "future.keywords" ||
        (path.length === 3 && p.startsWith("future.keywords.") && FUTURE_KEYWORDS.has(path[2]!))
      ) {
        // Keywords are always enabled here; the import only matters to OPA in v0 mode.
      } else if (path[0] === "input" || path[0] === "data") unsupported(`import ${p}`, at);
      else this.fail(`unknown import ${p}`);
    }
    const rules: RuleDef[] = [];
    while (this.peek().type !== "eof") rules.push(this.parseRule(regoV1));
    return { pkg, regoV1, rules };
  }

  private parseRule(regoV1: boolean): RuleDef {
    const start = this.peek();
    if (!start.nl) this.fail("a rule must start on a new line", start);
    if (this.is("import")) this.fail("imports must come before rules");
    if (this.is("default")) {
      this.next();
      const name = this.ident().text;
      const args = this.is("(") ? this.parseArgs() : undefined;
      if (!this.is("=") && !this.is(":="))
        this.fail('expected ":=" or "=" after the default rule name');
      this.next();
      const value = this.parseExpr();
      return {
        name,
        isDefault: true,
        multi: false,
        args,
        key: undefined,
        value,
        body: undefined,
        elses: [],
        pos: this.pos(start),
      };
    }
    const nameTok = this.ident();
    const name = nameTok.text;
    if (
      [
        "package",
        "not",
        "some",
        "every",
        "in",
        "if",
        "else",
        "with",
        "true",
        "false",
        "null",
      ].includes(name)
    ) {
      this.fail(`unexpected keyword "${name}"`, nameTok);
    }
    const args = this.is("(") ? this.parseArgs() : undefined;
    let key: Term | undefined;
    if (args === undefined && this.is("[") && !this.peek().nl) {
      this.next();
      key = this.parseExpr();
      this.expect("]");
    }
    if (this.is(".") || this.is("["))
      unsupported("rules with multi-level reference heads (a.b := …, a[x][y] := …)", this.pos());
    let value: Term = { k: "scalar", v: true, pos: this.pos(nameTok) };
    let hasValue = false;
    let multi = args === undefined && key === undefined && this.is("contains");
    if (multi || this.is(":=") || this.is("=")) {
      this.next();
      value = this.parseMembership(this.parseExpr());
      hasValue = true;
    }
    if (key !== undefined && !hasValue && this.v0 && !regoV1) {
      // Pre-1.0 `name[x] { … }` is a partial set (in Rego v1 it is an object with value true).
      multi = true;
      value = key;
      key = undefined;
      hasValue = true;
    }
    const body = this.parseRuleBody(regoV1);
    if (body === undefined && !hasValue)
      this.fail(`rule "${name}" needs a value or a body`, nameTok);
    if (this.is("{") && !this.peek().nl) unsupported("rules with several bodies", this.pos());
    const elses: RuleDef["elses"] = [];
    while (this.is("else")) {
      const at = this.pos(this.next());
      if (multi) this.fail("else keyword cannot be used on multi-value rules");
      if (key !== undefined) unsupported("else on a partial object rule", at);
      if (body === undefined) this.fail("else needs a rule with a body");
      let elseValue: Term = { k: "scalar", v: true, pos: at };
      if (this.is(":=") || this.is("=")) {
        this.next();
        elseValue = this.parseExpr();
      }
      elses.push({ value: elseValue, body: this.parseRuleBody(regoV1), pos: at });
    }
    const after = this.peek();
    if (after.type !== "eof" && !after.nl)
      this.fail(`unexpected ${this.describe(after)} after rule "${name}"`, after);
    return { name, isDefault: false, multi, args, key, value, body, elses, pos: this.pos(nameTok) };
  }

  /** `if { … }`, `if literal`, or (v0) `{ … }`; `undefined` when the rule has no body. */
  private parseRuleBody(regoV1: boolean): Literal[] | undefined {
    if (this.is("if")) {
      this.next();
      return this.is("{") ? this.parseBraceBody() : [this.parseLiteral()];
    }
    if (this.is("{") && !this.peek().nl) {
      if (regoV1 || !this.v0)
        this.fail(
          "`if` keyword is required before rule body (pre-1.0 Rego is accepted only with the v0 option)",
        );
      return this.parseBraceBody();
    }
    return undefined;
  }

  /** `(term, …)` after a function name. */
  private parseArgs(): Term[] {
    this.expect("(");
    const args: Term[] = [];
    while (!this.is(")")) {
      args.push(this.parseExpr());
      if (!this.is(")")) this.expect(",");
    }
    this.next();
    return args;
  }

  private parseBraceBody(): Literal[] {
    this.expect("{");
    const body = this.parseLiterals("}");
    this.expect("}");
    if (body.length === 0) this.fail("a rule body must not be empty");
    return body;
  }

  /** Literals up to (not including) `close`, separated by `;` or newlines. */
  private parseLiterals(close: string): Literal[] {
    const out: Literal[] = [];
    while (!this.is(close)) {
      if (this.peek().type === "eof") this.fail(`expected "${close}"`);
      out.push(this.parseLiteral());
      if (this.is("with")) unsupported("`with` modifiers", this.pos());
      if (this.is(";")) this.next();
      else if (!this.is(close) && !this.peek().nl)
        this.fail(`unexpected ${this.describe(this.peek())}`);
    }
    return out;
  }

  private parseLiteral(): Literal {
    const at = this.pos();
    if (this.is("with")) unsupported("`with` modifiers", at);
    if (this.is("some")) {
      this.next();
      const names = [this.varName()];
      while (this.is(",")) {
        this.next();
        names.push(this.varName());
      }
      if (this.is("in")) {
        if (names.length > 2) this.fail("`some` takes at most a key and a value before `in`");
        this.next();
        const coll = this.parseRelation(false);
        // OPA reads `some x in a in b` as `some (x in a) in b`, leaving x unbound.
        if (this.is("in"))
          this.fail(`var ${names.at(-1)} is unsafe: \`some … in a in b\` does not bind it`);
        return names.length === 2
          ? { k: "someIn", key: names[0], value: names[1]!, coll, pos: at }
          : { k: "someIn", key: undefined, value: names[0]!, coll, pos: at };
      }
      return { k: "someDecl", names, pos: at };
    }
    if (this.is("every")) {
      this.next();
      const first = this.varName();
      let key: string | undefined;
      let value = first;
      if (this.is(",")) {
        this.next();
        key = first;
        value = this.varName();
      }
      this.expect("in");
      const coll = this.parseExpr();
      this.expect("{");
      const body = this.parseLiterals("}");
      this.expect("}");
      return { k: "every", key, value, coll, body, pos: at };
    }
    if (this.is("not")) {
      this.next();
      return { k: "not", lit: this.parseSimpleLiteral(), pos: at };
    }
    return this.parseSimpleLiteral();
  }

  private varName(): string {
    const t = this.ident();
    if (t.text === "_") return this.wildcard();
    return t.text;
  }

  private wildcard(): string {
    return `_$${this.wildcards++}`;
  }

  private parseSimpleLiteral(): Literal {
    const at = this.pos();
    const term = this.parseMembership(this.parseExpr());
    let lit: Literal;
    if (this.is(":=")) {
      this.next();
      lit = { k: "assign", lhs: term, rhs: this.parseExpr(), pos: at };
    } else if (this.is("=")) {
      this.next();
      lit = { k: "unify", lhs: term, rhs: this.parseExpr(), pos: at };
    } else lit = { k: "expr", term, pos: at };
    if (this.is("with")) unsupported("`with` modifiers", this.pos());
    return lit;
  }

  /** `k, v in coll` membership, allowed where an expression stands alone (rule value, body literal). */
  private parseMembership(first: Term): Term {
    if (!this.is(",") || this.peek().nl) return first;
    this.next();
    const value = this.parseRelation(false);
    this.expect("in");
    return { k: "member", key: first, value, coll: this.parseRelation(false), pos: first.pos };
  }

  /** Full expression: membership is the loosest operator, as in OPA's grammar. */
  parseExpr(noPipe = false): Term {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nests deeper than ${MAX_DEPTH} levels`);
    let lhs = this.parseRelation(noPipe);
    while (this.is("in")) {
      const at = this.pos(this.next());
      lhs = { k: "member", key: undefined, value: lhs, coll: this.parseRelation(noPipe), pos: at };
    }
    this.depth--;
    return lhs;
  }

  private binary(ops: Record<string, string>, operand: () => Term, loop: boolean): Term {
    let lhs = operand();
    for (;;) {
      const t = this.peek();
      // Infix operators continue an expression across newlines, as in OPA (`x := 1\n-1` is `x := 1 - 1`).
      const name = t.type === "op" ? ops[t.text] : undefined;
      if (name === undefined) return lhs;
      this.next();
      lhs = { k: "call", name, args: [lhs, operand()], pos: this.pos(t) };
      if (!loop) return lhs;
    }
  }

  private parseRelation(noPipe: boolean): Term {
    return this.binary(RELATIONS, () => this.parseOr(noPipe), true);
  }
  private parseOr(noPipe: boolean): Term {
    return noPipe ? this.parseAnd() : this.binary({ "|": "or" }, () => this.parseAnd(), true);
  }
  private parseAnd(): Term {
    return this.binary({ "&": "and" }, () => this.parseArith(), true);
  }
  private parseArith(): Term {
    return this.binary(ARITH, () => this.parseFactor(), true);
  }
  private parseFactor(): Term {
    return this.binary(FACTOR, () => this.parseUnary(), true);
  }

  private parseUnary(): Term {
    if (this.is("-")) {
      const t = this.next();
      const n = this.peek();
      if (n.type === "number" && n.col === t.col + 1 && n.line === t.line) {
        this.next();
        return { k: "scalar", v: parseNumber(`-${n.text}`), pos: this.pos(t) };
      }
      return {
        k: "call",
        name: "minus",
        args: [{ k: "scalar", v: 0, pos: this.pos(t) }, this.parseUnary()],
        pos: this.pos(t),
      };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(base: Term): Term {
    let term = base;
    for (;;) {
      const t = this.peek();
      if (t.nl || t.type !== "op" || (t.text !== "." && t.text !== "[")) return term;
      if (term.k !== "ref" && term.k !== "var")
        unsupported("references into literals or call results", this.pos(t));
      this.next();
      let seg: Term;
      if (t.text === ".") {
        const name = this.ident();
        seg = { k: "scalar", v: name.text, pos: this.pos(name) };
      } else {
        seg = this.parseExpr();
        this.expect("]");
      }
      term =
        term.k === "ref"
          ? { ...term, path: [...term.path, seg] }
          : { k: "ref", head: term, path: [seg], pos: term.pos };
    }
  }

  private parsePrimary(): Term {
    const t = this.next();
    const at = this.pos(t);
    if (t.type === "number") return { k: "scalar", v: parseNumber(t.text), pos: at };
    if (t.type === "string") return { k: "scalar", v: t.str!, pos: at };
    if (t.type === "ident") {
      if (t.text === "true" || t.text === "false")
        return { k: "scalar", v: t.text === "true", pos: at };
      if (t.text === "null") return { k: "scalar", v: null, pos: at };
      if (
        [
          "not",
          "some",
          "every",
          "if",
          "else",
          "with",
          "default",
          "import",
          "package",
          "as",
        ].includes(t.text)
      ) {
        this.fail(`unexpected keyword "${t.text}"`, t);
      }
      if (t.text === "_") return { k: "var", name: this.wildcard(), pos: at };
      // A dotted name directly followed by "(" is a builtin call such as time.now_ns().
      let n = 0;
      while (this.is(".", 2 * n) && this.peek(2 * n + 1).type === "ident" && !this.peek(2 * n).nl)
        n++;
      if (this.is("(", 2 * n) && !this.peek(2 * n).nl) {
        const parts = [t.text];
        for (let j = 0; j < n; j++) {
          this.next();
          parts.push(this.next().text);
        }
        this.next();
        const args: Term[] = [];
        while (!this.is(")")) {
          args.push(this.parseExpr());
          if (!this.is(")")) this.expect(",");
        }
        this.next();
        const name = parts.join(".");
        if (name === "set" && args.length === 0) return { k: "set", items: [], pos: at };
        return { k: "call", name, args, pos: at };
      }
      return { k: "var", name: t.text, pos: at };
    }
    if (t.text === "(") {
      const inner = this.parseExpr();
      this.expect(")");
      return inner;
    }
    if (t.text === "[") return this.parseArray(at);
    if (t.text === "{") return this.parseBraces(at);
    this.fail(`unexpected ${this.describe(t)}`, t);
  }

  private parseArray(at: Pos): Term {
    if (this.is("]")) {
      this.next();
      return { k: "array", items: [], pos: at };
    }
    const first = this.parseExpr(true);
    if (this.is("|")) {
      this.next();
      const body = this.parseLiterals("]");
      this.expect("]");
      return { k: "compr", kind: "array", key: undefined, head: first, body, pos: at };
    }
    const items = [first, ...this.parseRest("]")];
    return { k: "array", items, pos: at };
  }

  private parseRest(close: string): Term[] {
    const items: Term[] = [];
    while (this.is(",")) {
      this.next();
      if (this.is(close)) break;
      items.push(this.parseExpr(true));
    }
    this.expect(close);
    return items;
  }

  private parseBraces(at: Pos): Term {
    if (this.is("}")) {
      this.next();
      return { k: "object", entries: [], pos: at };
    }
    const first = this.parseExpr(true);
    if (this.is(":")) {
      this.next();
      const value = this.parseExpr(true);
      if (this.is("|")) {
        this.next();
        const body = this.parseLiterals("}");
        this.expect("}");
        return { k: "compr", kind: "object", key: first, head: value, body, pos: at };
      }
      const entries: [Term, Term][] = [[first, value]];
      while (this.is(",")) {
        this.next();
        if (this.is("}")) break;
        const k = this.parseExpr(true);
        this.expect(":");
        entries.push([k, this.parseExpr(true)]);
      }
      this.expect("}");
      return { k: "object", entries, pos: at };
    }
    if (this.is("|")) {
      this.next();
      const body = this.parseLiterals("}");
      this.expect("}");
      return { k: "compr", kind: "set", key: undefined, head: first, body, pos: at };
    }
    return { k: "set", items: [first, ...this.parseRest("}")], pos: at };
  }
}

function parseNumber(text: string): Value {
  // OPA keeps a literal's text: integers written with an exponent (1e30) are exact too, and the
  // text is what OPA prints (`[1.0]`) and what decides int or float for `sprintf`.
  const n = decimalValue(text);
  if (n === undefined)
    throw new CryptoTensorsError(
      "ERR_POLICY_UNSUPPORTED",
      `number ${text} is out of range for the embedded engine`,
    );
  return withText(n, text);
}

/**
 * Parses Rego source into a {@link Module}.
 *
 * @example
 * ```ts
 * parseModule("package model\ndefault allow := false\nallow if input.user == \"alice\"").rules.length; // 2
 * ```
 */
export function parseModule(src: string, options: { v0?: boolean } = {}): Module {
  return new Parser(tokenize(src), options.v0 === true).parseModule();
}
