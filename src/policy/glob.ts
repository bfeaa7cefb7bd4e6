/**
 * `glob.match` with the syntax of the Go library OPA uses (github.com/gobwas/glob), matched in
 * linear time: the pattern becomes a Thompson NFA simulated over the text one code point at a time
 * (O(pattern × text), no backtracking), so `*a*a*a*…b` cannot block the event loop.
 *
 * Syntax (as gobwas/glob): `*` any run of non-separator characters, `**` any run, `?` one
 * non-separator character (a code point, not a UTF-16 unit), `[abc]` / `[a-z]` a class and
 * `[!…]` its negation (`^` is an ordinary character), `{a,b}` alternatives (`,` and `}` are
 * ordinary outside braces), `\c` the character c. Malformed patterns (unclosed `[` or `{`,
 * `[]`, a trailing `\`, a reversed range) are errors (undefined in OPA's default mode).
 */
import { charge } from "./meter.js";

type Pred = (c: number) => boolean;
type Node = { t: "char"; pred: Pred } | { t: "star"; any: boolean } | { t: "alt"; alts: Node[][] };

/** NFA state: consume one code point matching `pred` then go to `out`, or branch to `outs` (ε). */
interface State {
  pred: Pred | undefined;
  out: number;
  outs: number[];
}

/** A compiled pattern. */
export interface Glob {
  states: State[];
  start: number;
  accept: number;
}

class GlobSyntaxError extends Error {}

function fail(): never {
  throw new GlobSyntaxError();
}

/** Parses a pattern into nodes, following gobwas/glob's lexer (see the module comment). */
function parse(pattern: string, seps: Set<number>): Node[] {
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  if (cps.some((c) => c >= 0xd800 && c <= 0xdfff)) fail(); // not valid UTF-8 for Go
  let i = 0;
  const notSep: Pred = (c) => !seps.has(c);
  const literal = (c: number): Node => ({ t: "char", pred: (x) => x === c });

  const cls = (): Node => {
    // After "[": optional "!", then either lo-hi or a non-empty set of characters, then "]".
    let not = false;
    if (cps[i] === 0x21) {
      not = true;
      i++;
    }
    if (i >= cps.length) fail();
    let pred: Pred;
    if (cps[i + 1] === 0x2d) {
      const lo = cps[i]!;
      const hi = cps[i + 2];
      if (hi === undefined || cps[i + 3] !== 0x5d) fail();
      if (hi < lo) fail();
      pred = (c) => c >= lo && c <= hi;
      i += 3;
    } else {
      const set = new Set<number>();
      while (i < cps.length && cps[i] !== 0x5d) {
        if (cps[i] === 0x5c) i++;
        if (i >= cps.length) fail();
        set.add(cps[i++]!);
      }
      if (i >= cps.length || set.size === 0) fail();
      pred = (c) => set.has(c);
    }
    i++; // "]"
    return { t: "char", pred: not ? (c) => !pred(c) : pred };
  };

  // Returns the items up to "," or "}" (inside braces) or the end.
  const sequence = (depth: number): Node[] => {
    const items: Node[] = [];
    while (i < cps.length) {
      const c = cps[i]!;
      if (depth > 0 && (c === 0x2c || c === 0x7d)) return items;
      i++;
      if (c === 0x2a) {
        const any = cps[i] === 0x2a;
        if (any) i++;
        items.push({ t: "star", any });
      } else if (c === 0x3f) items.push({ t: "char", pred: notSep });
      else if (c === 0x5b) items.push(cls());
      else if (c === 0x7b) {
        const alts: Node[][] = [sequence(depth + 1)];
        while (cps[i] === 0x2c) {
          i++;
          alts.push(sequence(depth + 1));
        }
        if (cps[i] !== 0x7d) fail(); // unclosed "{"
        i++;
        items.push({ t: "alt", alts });
      } else if (c === 0x5c) {
        if (i >= cps.length) fail(); // trailing backslash
        items.push(literal(cps[i++]!));
      } else items.push(literal(c));
    }
    return items;
  };
  const top = sequence(0);
  if (i !== cps.length) fail();
  return top;
}

function build(nodes: Node[], seps: Set<number>): Glob {
  const states: State[] = [];
  const add = (s: State): number => states.push(s) - 1;
  const accept = add({ pred: undefined, out: -1, outs: [] });
  const notSep: Pred = (c) => !seps.has(c);
  // Compiles a sequence right to left, each node continuing to `next`.
  const seq = (items: Node[], next: number): number => {
    let cur = next;
    for (let j = items.length - 1; j >= 0; j--) {
      const n = items[j]!;
      if (n.t === "char") cur = add({ pred: n.pred, out: cur, outs: [] });
      else if (n.t === "star") {
        const loop = add({ pred: undefined, out: -1, outs: [] });
        const step = add({ pred: n.any ? () => true : notSep, out: loop, outs: [] });
        states[loop]!.outs = [step, cur];
        cur = loop;
      } else {
        const target = cur;
        cur = add({ pred: undefined, out: -1, outs: n.alts.map((a) => seq(a, target)) });
      }
    }
    return cur;
  };
  return { states, start: seq(nodes, accept), accept };
}

const cache = new Map<string, Glob | undefined>();

/**
 * Compiles a pattern for the given separators; `undefined` when it is malformed. Cached.
 *
 * @example
 * ```ts
 * globMatch(compileGlob("*.example.com", ["."])!, "a.example.com"); // true
 * ```
 */
export function compileGlob(pattern: string, separators: string[]): Glob | undefined {
  const id = `${separators.join("")}\u0000${pattern}`;
  if (cache.has(id)) return cache.get(id);
  charge(pattern.length + 1);
  const seps = new Set(separators.map((s) => s.codePointAt(0)!));
  let g: Glob | undefined;
  try {
    g = build(parse(pattern, seps), seps);
  } catch (e) {
    if (!(e instanceof GlobSyntaxError)) throw e;
    g = undefined;
  }
  if (cache.size >= 100) cache.delete(cache.keys().next().value!);
  cache.set(id, g);
  return g;
}

/**
 * Whether the whole text matches; linear in text length × pattern size, charged to the evaluation.
 *
 * @example
 * ```ts
 * globMatch(compileGlob("gpu-?", ["."])!, "gpu-🚀"); // true
 * ```
 */
export function globMatch(g: Glob, text: string): boolean {
  const { states } = g;
  const mark = new Int32Array(states.length).fill(-1);
  let gen = 0;
  let current: number[] = [];
  const addState = (list: number[], s: number): void => {
    if (mark[s] === gen) return;
    mark[s] = gen;
    const st = states[s]!;
    if (st.pred === undefined && s !== g.accept) for (const o of st.outs) addState(list, o);
    else list.push(s);
  };
  addState(current, g.start);
  for (const ch of text) {
    if (current.length === 0) return false;
    charge(1 + (current.length >>> 4));
    const c = ch.codePointAt(0)!;
    gen++;
    const next: number[] = [];
    for (const s of current) {
      const st = states[s]!;
      if (st.pred?.(c) === true) addState(next, st.out);
    }
    current = next;
  }
  return current.includes(g.accept);
}
