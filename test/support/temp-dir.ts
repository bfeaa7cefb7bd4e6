// The one way test suites make temporary directories: under the OS temp dir, removed after the
// test file (tempDir) or by the caller (scratchDir, for lifetimes vitest does not own).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A fresh temporary directory, removed after the current test file. Call it at module level or
 * in a describe block (it registers an afterAll hook).
 *
 * @example
 * ```ts
 * const dir = tempDir("ct-roundtrip-");
 * ```
 */
export function tempDir(prefix = "ct-"): string {
  const { dir, cleanup } = scratchDir(prefix);
  afterAll(cleanup);
  return dir;
}

/**
 * A fresh temporary directory and the function that removes it.
 *
 * @example
 * ```ts
 * const { dir, cleanup } = scratchDir("ct-native-");
 * try { ... } finally { cleanup(); }
 * ```
 */
export function scratchDir(prefix = "ct-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
