// Per-licence rate limiting for the key-release service: a fixed window per licence id, with
// the table of windows bounded (expired windows are swept when it grows).

/** At most `requests` releases per licence in any window of `perSeconds` seconds. */
export interface RateLimit {
  requests: number;
  perSeconds: number;
}

/** Windows kept before a sweep of the expired ones. */
const SWEEP_AT = 10_000;

/**
 * Counts requests per key in fixed windows.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ requests: 2, perSeconds: 60 });
 * limiter.take("jti-1", Date.now()); // 0: allowed
 * ```
 */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(limit: RateLimit) {
    if (!Number.isSafeInteger(limit.requests) || limit.requests < 1)
      throw new RangeError("rateLimit.requests must be a positive integer");
    if (!(limit.perSeconds > 0)) throw new RangeError("rateLimit.perSeconds must be positive");
    this.#limit = limit;
  }

  /** Counts one request of `key` at `nowMs`; returns 0 when allowed, else the ms to wait. */
  take(key: string, nowMs: number): number {
    const span = this.#limit.perSeconds * 1000;
    if (this.#windows.size >= SWEEP_AT) {
      for (const [k, w] of this.#windows) if (nowMs - w.start >= span) this.#windows.delete(k);
    }
    const window = this.#windows.get(key);
    if (window === undefined || nowMs - window.start >= span) {
      this.#windows.set(key, { start: nowMs, count: 1 });
      return 0;
    }
    if (window.count >= this.#limit.requests) return window.start + span - nowMs;
    window.count += 1;
    return 0;
  }
}
