// The README's "Use with onnxruntime-node / tfjs / in a server" examples, run verbatim in one bash
// session as a user would paste them (the server example reuses the first one's keys and model;
// all of them work in a fresh mktemp directory, so parallel runs never share files).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { runChild } from "../support/child.js";

const root = resolve(__dirname, "../..");

function block(readme: string, name: string): string {
  const match = new RegExp(
    `<!-- ${name}:begin -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`,
  ).exec(readme);
  expect(match, `README block ${name}`).not.toBeNull();
  return match?.[1] as string;
}

it("README adapter examples run: onnxruntime-node, tfjs, the example server", async () => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const script = ["onnxruntime", "tfjs", "server"].map((name) => block(readme, name)).join("\n");
  const env = { ...process.env };
  delete env.CRYPTOTENSOR_KEYS;
  const result = await runChild("bash", ["-euo", "pipefail", "-c", script], {
    cwd: root,
    env,
    timeout: 120_000,
  });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toContain("model.onnx\nmodel.safetensors\n");
  expect(result.stdout).toContain("text map 1x1x64x64");
  expect(result.stdout).toContain("model.onnx\nmodel.onnx_data\n");
  expect(result.stdout).toContain("same prediction: true");
  expect(result.stdout).toMatch(/"status":"ok","generation":1,"inputs":\["x"\]/);
  expect(result.stdout).toContain("stopped");
});
