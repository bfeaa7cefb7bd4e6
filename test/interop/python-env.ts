// Creates (once) a throw-away virtual environment with the pinned reference packages, so the
// interop tests can run the real `cryptotensors` and HF `safetensors` Python packages.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runChild } from "../support/child.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const requirements = join(here, "requirements.txt");
const venvDir = process.env.CRYPTOTENSORS_INTEROP_VENV ?? join(root, ".cache", "interop-venv");
const python = join(venvDir, "bin", "python");
const stamp = join(venvDir, ".requirements.sha256");

/** Returns the venv's python, creating the venv and installing the pinned packages if needed. */
export function ensurePythonEnv(): string {
  const want = createHash("sha256").update(readFileSync(requirements)).digest("hex");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === want)
    return python;
  mkdirSync(dirname(venvDir), { recursive: true });
  execFileSync("python3", ["-m", "venv", "--clear", venvDir], { stdio: "inherit" });
  execFileSync(
    python,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements],
    {
      stdio: "inherit",
    },
  );
  writeFileSync(stamp, want);
  return python;
}

/**
 * Runs a Python script of test/interop/py with JSON on stdin; resolves with its parsed JSON
 * stdout. Asynchronous: tests run the reference many times each, and synchronous children would
 * stall vitest's worker RPC on a busy machine (test/support/child.ts).
 */
export async function runPython<T = unknown>(
  script: string,
  input: unknown,
  env: NodeJS.ProcessEnv = {},
): Promise<T> {
  const result = await runChild(ensurePythonEnv(), [join(here, "py", script)], {
    input: JSON.stringify(input),
    env: { ...process.env, ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`python ${script} exited ${result.status}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}
