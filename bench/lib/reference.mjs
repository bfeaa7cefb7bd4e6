// The reference Python package as a benchmark variant: one long-lived process (bench/py/
// ref_retained.py) that loads a file on request and keeps the result, so its loads interleave
// with ours in one run. Needs the interop venv (.cache/interop-venv, made by test/interop or
// CRYPTOTENSORS_INTEROP_VENV); without it the variant is absent and the figures say so.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./common.mjs";

// resolve: an absolute CRYPTOTENSORS_INTEROP_VENV (as the interop tests take it) stays absolute.
const venvDir = resolve(ROOT, process.env.CRYPTOTENSORS_INTEROP_VENV ?? ".cache/interop-venv");
const venvPython = join(venvDir, "bin", "python");

/** The venv's python, or null when the venv has not been made. */
export function referencePython() {
  return existsSync(venvPython) ? venvPython : null;
}

/**
 * Makes the interop venv with the pinned reference packages (test/interop/requirements.txt) when
 * it is missing or stale, as test/interop/python-env.ts does (same directory and stamp), so that
 * `npm run bench` from a fresh clone measures the reference too. Returns false (and says why) when
 * it cannot: the scenarios then report the reference as missing.
 */
export function ensureReferenceVenv() {
  const requirements = join(ROOT, "test", "interop", "requirements.txt");
  const stamp = join(venvDir, ".requirements.sha256");
  const want = createHash("sha256").update(readFileSync(requirements)).digest("hex");
  if (existsSync(venvPython) && existsSync(stamp) && readFileSync(stamp, "utf8") === want)
    return true;
  try {
    console.log(`making the reference venv ${venvDir} (pip install, once)`);
    mkdirSync(dirname(venvDir), { recursive: true });
    execFileSync("python3", ["-m", "venv", "--clear", venvDir], { stdio: "inherit" });
    execFileSync(
      venvPython,
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements],
      { stdio: "inherit" },
    );
    writeFileSync(stamp, want);
    return true;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(
      `the reference venv could not be made (${reason}); reference figures are skipped`,
    );
    return false;
  }
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
