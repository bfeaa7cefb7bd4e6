// The README's quickstart, run verbatim as a user would paste it into bash.
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { runChild } from "../support/child.js";

const root = resolve(__dirname, "../..");

it("README quickstart runs and round-trips", async () => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const block = /<!-- quickstart:begin -->\n```sh\n([\s\S]*?)```\n<!-- quickstart:end -->/.exec(
    readme,
  );
  expect(block).not.toBeNull();
  rmSync("/tmp/ct-quickstart", { recursive: true, force: true });
  const env = { ...process.env };
  delete env.CRYPTOTENSOR_KEYS;
  const result = await runChild("bash", ["-euo", "pipefail", "-c", block![1]!], {
    cwd: root,
    env,
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toContain("Float32Array(6) [ 1, 2, 3, 4, 5, 6 ]");
  expect(result.stdout).toContain("signature valid");
  expect(result.stdout).toContain("round trip: identical bytes");
  rmSync("/tmp/ct-quickstart", { recursive: true, force: true });
});
