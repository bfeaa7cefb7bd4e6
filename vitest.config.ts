// Test projects, so that each suite brings only what it needs: `npx vitest run --project unit`
// needs neither the addon's fixtures nor Python nor Go; the policy project installs OPA and the
// interop project the Python reference packages in their own global setup (see CONTRIBUTING.md).
import { configDefaults, defineConfig } from "vitest/config";

const UNIT = ["test/unit/**/*.test.ts"];
const NATIVE = [
  "test/native/**/*.test.ts",
  "test/concurrency/**/*.test.ts",
  "test/hygiene/**/*.test.ts",
  "test/perf-correctness/**/*.test.ts",
];
const POLICY = ["test/policy/**/*.test.ts"];
// Suites that run the Python reference packages (a policy one among them).
const INTEROP = ["test/interop/**/*.test.ts", "test/policy/reference.test.ts"];

const project = (name: string, include: string[], extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, include, ...extra },
});

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: "forks",
    // vitest's worker RPC times out after 60 s without the worker's event loop turning:
    // yield-between-tests keeps synchronous tests from adding up; loop-report (off unless
    // CRYPTOTENSORS_LOOP_REPORT is set) says which tests block it.
    setupFiles: ["test/support/yield-between-tests.ts", "test/support/loop-report.ts"],
    projects: [
      project("unit", UNIT),
      project("native", NATIVE),
      project("policy", POLICY, {
        exclude: [...configDefaults.exclude, ...INTEROP],
        globalSetup: ["test/policy/global-setup.ts"],
      }),
      project("interop", INTEROP, { globalSetup: ["test/interop/global-setup.ts"] }),
      // Everything else (round trips, adversarial files, keys, CLI, models, adapters, packaging):
      // a new suite directory lands here without touching this file.
      project("integration", ["test/**/*.test.ts"], {
        exclude: [...configDefaults.exclude, ...UNIT, ...NATIVE, ...POLICY, ...INTEROP],
      }),
    ],
  },
});
