/**
 * The pluggable policy-evaluator contract (embedded engine or an OPA server).
 */
import type { PolicyInput } from "./input.js";

/**
 * Decides `data.model.allow` for a policy and an input document.
 * Resolves `true`/`false`, or `undefined` when the rule is undefined; throws
 * ERR_POLICY_INVALID (parse/compile), ERR_POLICY_UNSUPPORTED (outside what it can evaluate),
 * ERR_POLICY_EVAL (evaluation error or limit) or ERR_POLICY_SERVER (remote engine unreachable).
 *
 * @example
 * ```ts
 * const evaluator: PolicyEvaluator = new EmbeddedPolicyEvaluator();
 * await evaluator.evaluate("package model\nallow := true", {}); // true
 * ```
 */
export interface PolicyEvaluator {
  evaluate(rego: string, input: PolicyInput | undefined): Promise<boolean | undefined>;
}
