// The library compiled to JavaScript for code that runs outside vitest (worker threads, child
// processes). It goes to a private directory with its own package.json, and CRYPTOTENSORS_PREBUILD
// points the addon loader back at this checkout's native build.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Environment under which the compiled copy loads this checkout's addon. */
export const COMPILED_ENV = {
  ...process.env,
  CRYPTOTENSORS_PREBUILD: process.env["CRYPTOTENSORS_PREBUILD"] ?? ROOT,
};

/**
 * Compiles src/ into a fresh directory and returns the path of its `index.js` and a cleanup.
 * Type errors do not stop it (the typecheck step reports them); missing output does.
 *
 * @example
 * ```ts
 * const { index, cleanup } = compileLibrary();
 * const { openFile } = await import(index);
 * ```
 */
export function compileLibrary(): { index: string; cleanup: () => void } {
  const out = mkdtempSync(join(ROOT, ".cache", "ct-compiled-"));
  try {
    execFileSync(
      join(ROOT, "node_modules", ".bin", "tsc"),
      [
        "-p",
        join(ROOT, "tsconfig.build.json"),
        "--outDir",
        join(out, "dist"),
        "--declaration",
        "false",
        "--sourceMap",
        "false",
      ],
      { stdio: "ignore" },
    );
  } catch {
    // Emitted anyway unless the compiler itself failed: checked below.
  }
  writeFileSync(
    join(out, "package.json"),
    JSON.stringify({ name: "cryptotensors", type: "module" }),
  );
  const index = join(out, "dist", "index.js");
  execFileSync(process.execPath, ["-e", `import(${JSON.stringify(index)})`], {
    env: COMPILED_ENV,
    stdio: "ignore",
  });
  return { index, cleanup: () => rmSync(out, { recursive: true, force: true }) };
}
