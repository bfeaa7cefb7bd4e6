// The README's licence walkthrough, run verbatim in bash with the built CLI: free opens the
// embeddings only, pro everything, a revoked licence nothing; the key server is stopped after.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { runChild } from "../support/child.js";

const root = resolve(__dirname, "../..");

it("README licence and key-release walkthrough runs", async () => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const block = /<!-- key-release:begin -->\n```sh\n([\s\S]*?)```\n<!-- key-release:end -->/.exec(
    readme,
  );
  expect(block).not.toBeNull();
  const env = { ...process.env };
  delete env.CRYPTOTENSOR_KEYS;
  const result = await runChild("bash", ["-euo", "pipefail", "-c", block![1]!], {
    cwd: root,
    env,
    timeout: 120_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const [embedOnly, all] = result.stdout.split("free licence, whole model:");
  expect(embedOnly).toContain("embed.weight");
  expect(embedOnly).not.toContain("head.weight");
  expect(all).toContain("ERR_KEY_RELEASE_DENIED");
  expect(all).toContain("head.weight");
  expect(all).toContain("embed.weight");
  expect(result.stdout).toContain("pro licence after revocation: ERR_LICENCE_REVOKED");
  // Audit lines: free allowed, free denied, pro allowed, pro revoked.
  expect(result.stdout.trim().split("\n").at(-1)?.trim()).toBe("4");
}, 150_000);
