// The reference Python package as a benchmark variant: one long-lived process (bench/py/
// ref_retained.py) that loads a file on request and keeps the result, so its loads interleave
// with ours in one run. Needs the interop venv (.cache/interop-venv, made by test/interop or
// CRYPTOTENSORS_INTEROP_VENV); without it the variant is absent and the figures say so.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./common.mjs";

/** The venv's python, or null when the venv has not been made. */
export function referencePython() {
  const python = join(
    ROOT,
    process.env.CRYPTOTENSORS_INTEROP_VENV ?? ".cache/interop-venv",
    "bin",
    "python",
  );
  return existsSync(python) ? python : null;
}

/**
 * Starts the reference's retained loader for `path`; `load()` resolves with the figures it
 * measured itself ({ ms, minorFaults, majorFaults, tensors, bytes }); `close()` ends it.
 * @param {string} python
 * @param {string} path
 * @param {unknown} keySet
 * @param {string} dir where the keys file goes
 */
export function startReferenceLoader(python, path, keySet, dir) {
  const keysPath = join(dir, "reference-keys.json");
  writeFileSync(keysPath, JSON.stringify(keySet), { mode: 0o600 });
  const child = spawn(python, [join(ROOT, "bench", "py", "ref_retained.py"), path, keysPath], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({
    input: /** @type {import("node:stream").Readable} */ (child.stdout),
  });
  /** @type {Array<(line: string) => void>} */
  const waiting = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  /** @type {Promise<never>} */
  const exited = new Promise((_, reject) =>
    child.on("exit", (code) => reject(new Error(`reference loader exited (${code})`))),
  );
  exited.catch(() => undefined);
  return {
    /** @returns {Promise<{ ms: number, minorFaults: number, majorFaults: number, tensors: number, bytes: number }>} */
    async load() {
      const line = new Promise((resolve) => waiting.push(resolve));
      child.stdin?.write("load\n");
      return JSON.parse(/** @type {string} */ (await Promise.race([line, exited])));
    },
    close() {
      child.stdin?.end("quit\n");
      return new Promise((resolve) => {
        if (child.exitCode !== null) resolve(undefined);
        else child.on("exit", () => resolve(undefined));
      });
    },
  };
}
