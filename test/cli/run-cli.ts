// Runs the built CLI (node dist/cli/main.js, built by `npm test` before vitest) as a user would,
// with CRYPTOTENSOR_KEYS cleared unless the test sets it. The child is asynchronous: tests run
// several CLI commands each, and synchronous children would stall vitest's worker RPC on a busy
// machine (test/support/child.ts).
import { resolve } from "node:path";
import { runChild } from "../support/child.js";

export const CLI = resolve(__dirname, "../../dist/cli/main.js");

export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.CRYPTOTENSOR_KEYS;
  const result = await runChild(process.execPath, [CLI, ...args], { env: { ...base, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
