// Test projects, so that each suite brings only what it needs: `npx vitest run --project unit`
// needs neither the addon's fixtures nor Python nor Go; the policy project installs OPA and the
// interop project the Python reference packages in their own global setup (see CONTRIBUTING.md).
import { defineConfig } from "vitest/config";

const project = (name: string, include: string[], extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, include, ...extra },
});

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: "forks",
    projects: [
      project("unit", ["test/unit/**/*.test.ts"]),
      project("native", [
        "test/native/**/*.test.ts",
        "test/concurrency/**/*.test.ts",
        "test/hygiene/**/*.test.ts",
        "test/perf-correctness/**/*.test.ts",
      ]),
      project("integration", [
        "test/integration/**/*.test.ts",
        "test/adversarial/**/*.test.ts",
        "test/keys/**/*.test.ts",
        "test/cli/**/*.test.ts",
        "test/model/**/*.test.ts",
        "test/onnxruntime/**/*.test.ts",
        "test/packaging/**/*.test.ts",
      ]),
      project("policy", ["test/policy/**/*.test.ts"], {
        exclude: ["test/policy/reference.test.ts"],
        globalSetup: ["test/policy/global-setup.ts"],
      }),
      project("interop", ["test/interop/**/*.test.ts", "test/policy/reference.test.ts"], {
        globalSetup: ["test/interop/global-setup.ts"],
      }),
    ],
  },
});
