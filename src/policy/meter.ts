/**
 * The work meter of the running evaluation (see budget.ts): value operations and builtins charge
 * work units here before they allocate, and the evaluation turns them into its step budget and
 * clock checks. Evaluation is synchronous, so one module-level meter suffices.
 */

let meter: ((units: number) => void) | undefined;

/**
 * Runs `f` with `m` receiving the work charged by value operations and builtins.
 *
 * @example
 * ```ts
 * metered((n) => (spent += n), () => valueKey(bigValue));
 * ```
 */
export function metered<T>(m: (units: number) => void, f: () => T): T {
  const outer = meter;
  meter = m;
  try {
    return f();
  } finally {
    meter = outer;
  }
}

/**
 * Charges work units to the running evaluation (no-op outside one); throws ERR_POLICY_EVAL when a
 * limit is exceeded. Call it before allocating.
 *
 * @example
 * ```ts
 * charge(strUnits(a.length + b.length)); // then build a + b
 * ```
 */
export function charge(units: number): void {
  if (meter !== undefined) meter(units);
}

/**
 * Work units for handling `length` string characters.
 *
 * @example
 * ```ts
 * strUnits(160); // 11
 * ```
 */
export function strUnits(length: number): number {
  return 1 + (length >>> 4);
}
