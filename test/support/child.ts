// Child processes for tests without blocking the test worker. spawnSync/execFileSync stop the
// worker's event loop for the child's whole life; vitest's worker RPC times out after 60 s of
// that (`[vitest-worker]: Timeout calling "onTaskUpdate"`), which a few seconds per child reach
// on a loaded machine once a test runs several. `runChild` is the asynchronous equivalent.
import { spawn } from "node:child_process";

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed (stdin is empty otherwise). */
  input?: string | Uint8Array;
  /** Kill the child (SIGKILL) after this long; its result then has signal "SIGKILL". */
  timeout?: number;
  /** Largest stdout or stderr kept, in bytes; a child writing more is killed (default 64 MiB). */
  maxBuffer?: number;
}

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion like spawnSync with `encoding: "utf8"`, asynchronously.
 * Resolves with its exit status and output (never rejects for a non-zero exit); rejects when the
 * command cannot be started or exceeds maxBuffer.
 *
 * @example
 * ```ts
 * const { status, stdout } = await runChild(process.execPath, ["-e", "console.log(1)"]);
 * ```
 */
export function runChild(
  command: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<ChildResult> {
  const maxBuffer = options.maxBuffer ?? 64 << 20;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let sizes = [0, 0];
    let failure: Error | undefined;
    const collect = (chunks: Buffer[], index: 0 | 1) => (chunk: Buffer) => {
      sizes[index]! += chunk.length;
      if (sizes[index]! > maxBuffer) {
        failure ??= new RangeError(`${command}: output exceeds maxBuffer (${maxBuffer} bytes)`);
        child.kill("SIGKILL");
        return;
      }
      chunks.push(chunk);
    };
    child.stdout.on("data", collect(out, 0));
    child.stderr.on("data", collect(err, 1));
    const timer =
      options.timeout === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeout);
    child.on("error", (error) => {
      if (child.pid !== undefined) failure ??= error;
      else {
        // Never started: no "close" follows.
        clearTimeout(timer);
        reject(error);
      }
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      sizes = [0, 0];
      if (failure) reject(failure);
      else {
        resolve({
          status,
          signal,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        });
      }
    });
    // A child that exits without reading its input must not fail the run with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input);
  });
}
