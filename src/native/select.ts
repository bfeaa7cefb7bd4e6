// Picks the backend: explicit argument, else CRYPTOTENSORS_BACKEND, else native with a fallback.
// Pure (its effects are injected) so that the fall-back path is testable without breaking the addon.
import type { Backend } from "./backend.js";

export type BackendChoice = "native" | "fallback";

export interface BackendSources {
  /** Loads the native backend; throws ERR_NATIVE_UNAVAILABLE (with the loader error) if it cannot. */
  native: () => Backend;
  fallback: () => Backend;
  /** Called when the default choice had to fall back; the caller makes it a one-time warning. */
  warnFallback: (error: unknown) => void;
}

/**
 * Resolves `prefer` / the `CRYPTOTENSORS_BACKEND` value to a backend. An explicit request for
 * "native" (argument or environment) fails loudly if the addon is missing; only the default
 * choice falls back silently-but-warned.
 *
 * @example
 * ```ts
 * const backend = selectBackend(undefined, process.env.CRYPTOTENSORS_BACKEND, sources);
 * ```
 */
export function selectBackend(
  prefer: unknown,
  envValue: string | undefined,
  sources: BackendSources,
): Backend {
  if (prefer !== undefined && prefer !== "native" && prefer !== "fallback") {
    throw new TypeError(`backend must be "native" or "fallback", got ${JSON.stringify(prefer)}`);
  }
  const fromEnv = envValue === undefined || envValue === "" ? undefined : envValue;
  if (fromEnv !== undefined && fromEnv !== "native" && fromEnv !== "fallback") {
    throw new TypeError(
      `CRYPTOTENSORS_BACKEND must be "native" or "fallback", got ${JSON.stringify(fromEnv)}`,
    );
  }
  const choice: BackendChoice | undefined = prefer ?? fromEnv;
  if (choice === "fallback") return sources.fallback();
  if (choice === "native") return sources.native();
  try {
    return sources.native();
  } catch (error) {
    sources.warnFallback(error);
    return sources.fallback();
  }
}
