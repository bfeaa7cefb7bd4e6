// Ctrl-C (SIGINT) and SIGTERM during a long write: instead of the process dying with a temporary
// file of decrypted weights left beside the output, the work is aborted through its AbortSignal,
// the temporary output is removed, and the command exits 1 with ERR_ABORTED.

/**
 * Runs `work` with an AbortSignal raised by SIGINT or SIGTERM; the handlers are removed after.
 *
 * @example
 * ```ts
 * await interruptible((signal) => convertFile(input, output, { signal }));
 * ```
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (name: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${name}`));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
  }
}
