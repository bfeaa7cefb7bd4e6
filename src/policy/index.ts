/**
 * Access policies (FORMAT.md §6, the README's Policies section): evaluate a file's local Rego policy with an
 * input document, with the embedded engine or an OPA server.
 */
import { CryptoTensorsError } from "../errors.js";
import { compilePolicy, RegoEngine, type RegoEngineOptions } from "./engine.js";
import type { PolicyInput } from "./input.js";
import type { PolicyEvaluator } from "./types.js";

export type { PolicyEvaluator } from "./types.js";
export {
  buildPolicyInput,
  stringifyInput,
  type PolicyInput,
  type PolicyInputContext,
  type StandardPolicyInput,
} from "./input.js";
export { OpaServerEvaluator, type OpaServerOptions } from "./opa-server.js";
export { RegoEngine, MAX_POLICY_LENGTH, type RegoEngineOptions } from "./engine.js";

/**
 * The embedded Rego engine as a {@link PolicyEvaluator}; compiled policies are cached by text.
 *
 * @example
 * ```ts
 * const allowed = await new EmbeddedPolicyEvaluator().evaluate("package model\nallow := true", {}); // true
 * ```
 */
export class EmbeddedPolicyEvaluator implements PolicyEvaluator {
  private readonly engine: RegoEngine;

  constructor(options: RegoEngineOptions = {}) {
    this.engine = new RegoEngine(options);
  }

  async evaluate(rego: string, input: PolicyInput | undefined): Promise<boolean | undefined> {
    return this.engine.evaluate(rego, input);
  }
}

let defaultEvaluator: EmbeddedPolicyEvaluator | undefined;

/**
 * Enforces a policy: resolves when `data.model.allow` is `true`; otherwise throws
 * ERR_POLICY_DENIED (`false`), ERR_POLICY_UNDEFINED (undefined), or the evaluator's error
 * (ERR_POLICY_INVALID / ERR_POLICY_UNSUPPORTED / ERR_POLICY_EVAL / ERR_POLICY_SERVER). Fails closed.
 *
 * @example
 * ```ts
 * await checkPolicy(file.policy.local, buildPolicyInput({ path, tensors: ["w"], keyIds: {} }));
 * ```
 */
export async function checkPolicy(
  rego: string,
  input: PolicyInput | undefined,
  evaluator?: PolicyEvaluator,
): Promise<void> {
  const engine = evaluator ?? (defaultEvaluator ??= new EmbeddedPolicyEvaluator());
  const decision: unknown = await engine.evaluate(rego, input);
  if (decision === true) return;
  if (decision === false) {
    throw new CryptoTensorsError(
      "ERR_POLICY_DENIED",
      "the file's access policy denied access (data.model.allow is false); check the policy's conditions against the input document (time, host, tensors, claims)",
    );
  }
  if (decision === undefined) {
    throw new CryptoTensorsError(
      "ERR_POLICY_UNDEFINED",
      "the file's access policy left data.model.allow undefined (no rule matched and no default); the policy needs `package model` and a rule or `default allow`",
    );
  }
  // A custom evaluator returned something else: the reference refuses non-boolean results.
  throw new CryptoTensorsError(
    "ERR_POLICY_UNSUPPORTED",
    "the policy evaluator returned a non-boolean decision; access refused",
  );
}

/**
 * Write-time check of a policy text: throws ERR_POLICY_INVALID on parse/compile errors and
 * ERR_POLICY_UNSUPPORTED for constructs outside the embedded engine's subset.
 *
 * @example
 * ```ts
 * validatePolicy("package model\ndefault allow := false\nallow if input.claims.tier == \"pro\"");
 * ```
 */
export function validatePolicy(rego: string, options: { v0Syntax?: boolean } = {}): void {
  compilePolicy(rego, { v0: options.v0Syntax === true });
}
