// Runs the built CLI (node dist/cli/main.js, built by `npm test` before vitest) as a user would,
// with CRYPTOTENSOR_KEYS cleared unless the test sets it.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const CLI = resolve(__dirname, "../../dist/cli/main.js");

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const base = { ...process.env };
  delete base.CRYPTOTENSOR_KEYS;
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...base, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
