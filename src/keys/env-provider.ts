// The reference's env provider (FORMAT.md §5.2, priority 0): keys from the CRYPTOTENSOR_KEYS
// variable, which holds JSON (a JWK set or one JWK), never a path. Read at every lookup, so a
// change of the variable takes effect without re-registering.
import { KEYS_ENV_VAR } from "./keyring.js";
import { jwkEntries, parseKeyJson, selectJwk, type KeyRole } from "./jwk-select.js";
import type { KeyProvider, KeyRequest } from "./provider.js";

/**
 * Serves master and verification keys from `CRYPTOTENSOR_KEYS` (never signing keys, as in the
 * reference). Ready only while the variable is set. Invalid content is `ERR_KEY_INVALID`.
 *
 * @example
 * ```ts
 * const env = new EnvKeyProvider();             // reads process.env
 * const test = new EnvKeyProvider({ CRYPTOTENSOR_KEYS: JSON.stringify(jwks) });
 * ```
 */
export class EnvKeyProvider implements KeyProvider {
  readonly name = "env";
  readonly priority = 0;

  // A #private field: util.inspect of the provider must not print the variable's secrets.
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }

  isReady(): boolean {
    return this.#env[KEYS_ENV_VAR] !== undefined;
  }

  async getMasterKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    return this.select("master", request);
  }

  async getVerifyKey(request: KeyRequest): Promise<Record<string, unknown> | undefined> {
    return this.select("verify", request);
  }

  private select(role: KeyRole, request: KeyRequest): Record<string, unknown> | undefined {
    const text = this.#env[KEYS_ENV_VAR];
    if (text === undefined) return undefined;
    return selectJwk(jwkEntries(parseKeyJson(text, KEYS_ENV_VAR), KEYS_ENV_VAR), role, request.kid);
  }
}
