/**
 * Typed errors raised while reading a policy: ERR_POLICY_INVALID where OPA would report a parse or
 * compile error, ERR_POLICY_UNSUPPORTED for valid Rego outside the embedded engine's subset.
 */
import { CryptoTensorsError } from "../errors.js";
import type { Pos } from "./ast.js";

/**
 * A compile error at a position.
 *
 * @example
 * ```ts
 * invalid("var x is unsafe", { line: 3, col: 2 }); // throws ERR_POLICY_INVALID
 * ```
 */
export function invalid(message: string, pos: Pos): never {
  throw new CryptoTensorsError(
    "ERR_POLICY_INVALID",
    // Scope suffixes (scopes.ts) are internal: show the names as written.
    `policy compile error at ${pos.line}:${pos.col}: ${message.replace(/\$s\d+/g, "")}; fix the Rego text`,
  );
}

/**
 * A construct outside the supported subset, named in the message.
 *
 * @example
 * ```ts
 * unsupported("user-defined functions", { line: 2, col: 1 }); // throws ERR_POLICY_UNSUPPORTED
 * ```
 */
export function unsupported(what: string, pos: Pos): never {
  throw new CryptoTensorsError(
    "ERR_POLICY_UNSUPPORTED",
    `policy uses ${what} (at ${pos.line}:${pos.col}), which the embedded Rego engine does not support; ` +
      "rewrite it within the subset listed in the README (Policies) or evaluate it with an OPA server",
  );
}
