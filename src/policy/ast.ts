/**
 * Syntax tree of the supported Rego subset (see the README's Policies section), produced by `parser.ts`.
 */
import type { Value } from "./values.js";

/** Source position, 1-based, for error messages. */
export interface Pos {
  line: number;
  col: number;
}

/** Operators and builtins share one call node; operators use OPA's builtin names (`plus`, `equal`, …). */
export type Term =
  | { k: "scalar"; v: Value; pos: Pos }
  | { k: "var"; name: string; pos: Pos }
  // Resolved by the compiler: a rule of this package, the input document, a data path that is always undefined.
  | { k: "rule"; name: string; pos: Pos }
  | { k: "input"; pos: Pos }
  | { k: "undef"; pos: Pos }
  | { k: "pkg"; pos: Pos }
  | { k: "ref"; head: Term; path: Term[]; pos: Pos }
  | { k: "array"; items: Term[]; pos: Pos }
  | { k: "object"; entries: [Term, Term][]; pos: Pos }
  | { k: "set"; items: Term[]; pos: Pos }
  | { k: "call"; name: string; args: Term[]; pos: Pos; user?: boolean }
  | { k: "member"; key: Term | undefined; value: Term; coll: Term; pos: Pos }
  | {
      k: "compr";
      kind: "array" | "set" | "object";
      key: Term | undefined;
      head: Term;
      body: Literal[];
      pos: Pos;
    };

export type Literal =
  | { k: "expr"; term: Term; pos: Pos }
  | { k: "assign"; lhs: Term; rhs: Term; pos: Pos }
  | { k: "unify"; lhs: Term; rhs: Term; pos: Pos }
  | {
      k: "not";
      /** The negated literal as written (calls already moved out); safety is checked on this form. */
      lit: Literal;
      /**
       * Set by the compiler: references the negated literal uses as keys or arguments, bound before
       * the negation (`pre`), and the literal rewritten to use them (`hoisted`), as OPA evaluates it.
       */
      pre?: Literal[];
      hoisted?: Literal;
      pos: Pos;
    }
  | { k: "someIn"; key: string | undefined; value: string; coll: Term; pos: Pos }
  | { k: "someDecl"; names: string[]; pos: Pos }
  | { k: "every"; key: string | undefined; value: string; coll: Term; body: Literal[]; pos: Pos };

/**
 * One definition of a rule: a complete rule `name [:= value] [if] { body }`, a `default`, or a
 * multi-value rule `name contains value [if] { body }` (whose value is the set of all such values).
 */
export interface RuleDef {
  name: string;
  isDefault: boolean;
  /** A `contains` definition. */
  multi: boolean;
  /** Key of a partial object rule `name[key] := value` (whose value is the object of all pairs). */
  key: Term | undefined;
  /** Argument patterns of a function definition `name(args) := value`; `undefined` for rules. */
  args: Term[] | undefined;
  /** The head value; `true` when the head has none. */
  value: Term;
  /** `undefined` for a rule without body (always defined). */
  body: Literal[] | undefined;
  /** `else [:= value] [if body]` branches, tried in order when the body (and earlier branches) fail. */
  elses: { value: Term; body: Literal[] | undefined; pos: Pos }[];
  pos: Pos;
}

export interface Module {
  pkg: string[];
  /** `import rego.v1` was present: `if` is then required before bodies, as in OPA. */
  regoV1: boolean;
  rules: RuleDef[];
}
