// mkfifo for the jku attack: Node has no binding, so the coreutils command makes it.
import { execFileSync } from "node:child_process";

/** Creates a FIFO (named pipe) at `path`. */
export function mkfifoSync(path: string): void {
  execFileSync("mkfifo", [path]);
}
