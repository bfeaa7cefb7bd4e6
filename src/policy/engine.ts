/**
 * The embedded Rego engine: parse + compile once per policy text (cached), then evaluate
 * `data.model.allow` against an input document.
 */
import { CryptoTensorsError } from "../errors.js";
import { compileModule, type CompiledPolicy } from "./compiler.js";
import { Evaluation, type EvalLimits } from "./evaluator.js";
import { parseModule } from "./parser.js";
import { fromJS, NumberText, RegoObject, RegoSet, typeName, type Value } from "./values.js";

/**
 * Largest policy text accepted, in UTF-16 code units (a hostile header cannot make us parse megabytes).
 *
 * @example
 * ```ts
 * validatePolicy("#".repeat(MAX_POLICY_LENGTH + 1)); // throws ERR_POLICY_UNSUPPORTED
 * ```
 */
export const MAX_POLICY_LENGTH = 64 * 1024;

/** Number of compiled policies kept by one engine. */
const CACHE_SIZE = 64;

/**
 * Parses and compiles a policy, throwing ERR_POLICY_INVALID / ERR_POLICY_UNSUPPORTED.
 *
 * @example
 * ```ts
 * const compiled = compilePolicy("package model\nallow := true");
 * ```
 */
export function compilePolicy(rego: string, options: { v0?: boolean } = {}): CompiledPolicy {
  if (typeof rego !== "string") throw new TypeError("policy must be a string");
  if (rego.length > MAX_POLICY_LENGTH) {
    throw new CryptoTensorsError(
      "ERR_POLICY_UNSUPPORTED",
      `policy is ${rego.length} characters long; the embedded engine accepts at most ${MAX_POLICY_LENGTH}`,
    );
  }
  try {
    return compileModule(parseModule(rego, options));
  } catch (e) {
    if (e instanceof RangeError) {
      throw new CryptoTensorsError(
        "ERR_POLICY_UNSUPPORTED",
        "policy nests too deeply for the embedded engine",
        { cause: e },
      );
    }
    throw e;
  }
}

/** Options of {@link RegoEngine}. */
export interface RegoEngineOptions extends EvalLimits {
  /**
   * Also accept pre-1.0 Rego (`allow { … }` without `if`), like `opa --v0-compatible`. Off by
   * default: OPA 1.x and the reference engine reject such policies, so a file that the reference
   * refuses is refused here too.
   */
  v0Syntax?: boolean;
  /** Clock for `time.now_ns()`; defaults to the system clock. */
  now?: () => bigint;
}

/** JSON's number grammar (RFC 8259), which Go's encoder checks a kept number text against. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * OPA cannot hand out a result holding a number whose kept text is not JSON (`to_number("03")`,
 * `to_number("5.")`): its JSON encoder fails (`json: invalid number literal`) and `opa eval` and
 * the REST API return an error. Refuse the same results.
 */
function refuseNonJsonNumbers(v: Value): void {
  if (v instanceof NumberText) {
    if (!JSON_NUMBER.test(v.text))
      throw new CryptoTensorsError(
        "ERR_POLICY_EVAL",
        `policy evaluation error: the result holds the number text ${JSON.stringify(v.text)}, which OPA cannot encode as JSON; convert it with arithmetic (to_number(x) + 0)`,
      );
  } else if (Array.isArray(v)) for (const x of v) refuseNonJsonNumbers(x);
  else if (v instanceof RegoSet) for (const x of v.items.values()) refuseNonJsonNumbers(x);
  else if (v instanceof RegoObject)
    // A non-string key becomes its text as a JSON string, which any text can be.
    for (const [, x] of v.entries.values()) refuseNonJsonNumbers(x);
}

/**
 * Embedded Rego engine with a small cache of compiled policies keyed by their text.
 *
 * @example
 * ```ts
 * const engine = new RegoEngine();
 * engine.evaluateValue("package model\nallow if input.tier == \"pro\"", { tier: "pro" }); // true
 * ```
 */
export class RegoEngine {
  private readonly cache = new Map<string, CompiledPolicy>();

  constructor(private readonly options: RegoEngineOptions = {}) {}

  /** Compiled form of `rego`, from the cache when possible. */
  compile(rego: string): CompiledPolicy {
    const hit = this.cache.get(rego);
    if (hit !== undefined) {
      // Refresh recency: Map iteration order is insertion order, so this is an LRU.
      this.cache.delete(rego);
      this.cache.set(rego, hit);
      return hit;
    }
    const compiled = compilePolicy(rego, { v0: this.options.v0Syntax === true });
    this.cache.set(rego, compiled);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return compiled;
  }

  /**
   * Evaluates `data.<query>` (default `data.model.allow`) and returns the raw Rego value,
   * `undefined` when undefined. `input === undefined` means no input document, as the reference.
   */
  evaluateValue(
    rego: string,
    input: unknown,
    query: string[] = ["model", "allow"],
  ): Value | undefined {
    const compiled = this.compile(rego);
    const doc = input === undefined ? undefined : fromJS(input);
    const now = this.options.now?.() ?? BigInt(Date.now()) * 1_000_000n;
    try {
      const value = new Evaluation(compiled, doc, this.options, now).query(query);
      if (value !== undefined) refuseNonJsonNumbers(value);
      return value;
    } catch (e) {
      if (e instanceof RangeError) {
        throw new CryptoTensorsError(
          "ERR_POLICY_EVAL",
          "policy evaluation recursed too deeply; simplify the policy",
          { cause: e },
        );
      }
      throw e;
    }
  }

  /** `data.model.allow` as a boolean; a non-boolean value is ERR_POLICY_UNSUPPORTED (the reference refuses it too). */
  evaluate(rego: string, input: unknown): boolean | undefined {
    const v = this.evaluateValue(rego, input);
    if (v === undefined || typeof v === "boolean") return v;
    throw new CryptoTensorsError(
      "ERR_POLICY_UNSUPPORTED",
      `policy rule data.model.allow returned a ${typeName(v)}, not a boolean; make allow evaluate to true or false`,
    );
  }
}
