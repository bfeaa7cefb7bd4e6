/**
 * Work and size accounting for one evaluation, so that a hostile (signed) policy can neither crash
 * the process (V8 out of memory) nor block the event loop past the time limit — including inside
 * builtins and value operations (hashing, comparison), not only between evaluation steps.
 *
 * Every operation whose cost grows with the size of its values charges work units *before* it
 * allocates (one unit ≈ one element, or 16 string characters): the evaluation's step budget then
 * bounds the total memory an evaluation can allocate, and the clock is read at least every 1,024
 * units. A value built by the policy may not exceed {@link MAX_VALUE_CELLS} cells counted as a
 * tree (a value reusing another twice counts it twice), because hashing, comparing or printing a
 * value walks it as a tree: `a1 := [a0, a0]; a2 := [a1, a1]; …` doubles with each step.
 */
import { CryptoTensorsError } from "../errors.js";
import { strUnits } from "./meter.js";
import { RegoObject, RegoSet, type Value } from "./values.js";

/**
 * Largest value a policy may build, in cells (one per scalar or collection, one per 16 string
 * characters, counted as a tree).
 *
 * @example
 * ```ts
 * MAX_VALUE_CELLS; // 1048576
 * ```
 */
export const MAX_VALUE_CELLS = 1 << 20;

const cellMemo = new WeakMap<object, number>();

/**
 * Size of a value in cells, counted as a tree (memoized per collection).
 *
 * @example
 * ```ts
 * cells([1, "a"]); // 3
 * ```
 */
export function cells(v: Value): number {
  if (typeof v === "string") return strUnits(v.length);
  if (v === null || typeof v !== "object") return 1;
  const known = cellMemo.get(v);
  if (known !== undefined) return known;
  let n = 1;
  if (Array.isArray(v)) for (const x of v) n += cells(x);
  else if (v instanceof RegoSet) for (const x of v.items.values()) n += cells(x);
  else if (v instanceof RegoObject)
    for (const [k, x] of v.entries.values()) n += cells(k) + cells(x);
  cellMemo.set(v, n);
  return n;
}

/**
 * Returns `v` after checking that it is within {@link MAX_VALUE_CELLS}; throws ERR_POLICY_EVAL otherwise.
 *
 * @example
 * ```ts
 * const arr = bounded([a, a]);
 * ```
 */
export function bounded<T extends Value>(v: T): T {
  const n = cells(v);
  if (n > MAX_VALUE_CELLS) {
    throw new CryptoTensorsError(
      "ERR_POLICY_EVAL",
      `policy evaluation error: a value of ${n} cells exceeds the limit of ${MAX_VALUE_CELLS}; simplify the policy`,
    );
  }
  return v;
}
