// The bound on connections to one origin shared by a source's transports: the JS wire client
// (http-wire.ts) and the addon's receiver (native-wire.ts) each keep their own kept-alive
// connections, yet together they never open more than `maxConnections` (issue 16: "a bounded
// number of connections"). A transport that needs a connection while the others hold the budget
// in idle ones has one of those closed.

/**
 * Connection slots shared by the pools of one source.
 *
 * @example
 * ```ts
 * const budget = new ConnectionBudget(6);
 * await budget.take(); // a slot for a new connection
 * budget.give(); // that connection closed
 * ```
 */
export class ConnectionBudget {
  #used = 0;
  readonly #waiting: (() => void)[] = [];
  /** Per pool: closes one of its idle connections (giving its slot back, now or soon); false if none. */
  readonly #evictors: (() => boolean)[] = [];

  constructor(readonly max: number) {}

  /** Registers a pool's way of closing one idle connection. */
  addEvictor(evict: () => boolean): void {
    this.#evictors.push(evict);
  }

  /** A free slot now, or false (then wait with {@link ConnectionBudget.changed}). */
  tryTake(): boolean {
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  /**
   * Resolves at the next change that may let a waiter proceed (a slot given back, a connection
   * idle again, a pool closed); asks the pools to close an idle connection if one is held.
   */
  changed(): Promise<void> {
    const waited = new Promise<void>((resolve) => this.#waiting.push(resolve));
    for (const evict of this.#evictors) if (evict()) break;
    return waited;
  }

  /** A connection closed: its slot is free. */
  give(): void {
    this.#used--;
    this.notify();
  }

  /** Wakes every waiter to look again (each loops until it gets what it needs). */
  notify(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }
}
