// The closing rule shared by every BackendFile: calls made after close() fail with ERR_CLOSED,
// and close() waits for the calls in flight before it releases what they read from (a mapping,
// staging memory, a source's connections), so that no call is left reading a released resource.
import { CryptoTensorsError } from "../errors.js";

/**
 * The calls in flight on one file, and its close.
 *
 * @example
 * ```ts
 * const calls = new InFlight(path);
 * calls.checkOpen(); // throws ERR_CLOSED after close()
 * await calls.track(readSomething());
 * await calls.close(() => handle.close());
 * ```
 */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  /** @param name the file's name in the ERR_CLOSED message */
  constructor(private readonly name: string) {}

  /** Throws ERR_CLOSED once close() has been called. */
  checkOpen(): void {
    if (this.#closing) {
      throw new CryptoTensorsError(
        "ERR_CLOSED",
        `${this.name}: the file has been closed; open it again to read`,
      );
    }
  }

  /** Keeps `running` visible to close() until it settles; returns it. */
  track<T>(running: Promise<T>): Promise<T> {
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Waits for every tracked call to settle, then runs `release` once; repeated calls share it. */
  close(release: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#running]);
      await release();
    })();
    return this.#closing;
  }
}
