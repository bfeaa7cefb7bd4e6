// The library compiled to JavaScript for code that runs outside vitest (worker threads, child
// processes). It goes to a private directory with its own package.json, and CRYPTOTENSORS_PREBUILD
// points the addon loader back at this checkout's native build.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChild } from "../support/child.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Environment under which the compiled copy loads this checkout's addon. */
export const COMPILED_ENV = {
  ...process.env,
  CRYPTOTENSORS_PREBUILD: process.env["CRYPTOTENSORS_PREBUILD"] ?? ROOT,
};

/**
 * Compiles src/ into a fresh directory and returns the path of its `index.js` and a cleanup.
 * Type errors do not stop it (the typecheck step reports them); missing output does. The
 * compiler runs as an asynchronous child: a minute of tsc on a loaded machine inside the test
 * worker would stall vitest's worker RPC.
 *
 * @example
 * ```ts
 * const { index, cleanup } = await compileLibrary();
 * const { openFile } = await import(index);
 * ```
 */
export async function compileLibrary(): Promise<{ index: string; cleanup: () => void }> {
  const out = mkdtempSync(join(ROOT, ".cache", "ct-compiled-"));
  const cleanup = () => rmSync(out, { recursive: true, force: true });
  // Type errors exit non-zero but still emit: the import below is the check.
  await runChild(join(ROOT, "node_modules", ".bin", "tsc"), [
    "-p",
    join(ROOT, "tsconfig.build.json"),
    "--outDir",
    join(out, "dist"),
    "--declaration",
    "false",
    "--sourceMap",
    "false",
  ]);
  writeFileSync(
    join(out, "package.json"),
    JSON.stringify({ name: "cryptotensors", type: "module" }),
  );
  const index = join(out, "dist", "index.js");
  const check = await runChild(process.execPath, ["-e", `import(${JSON.stringify(index)})`], {
    env: COMPILED_ENV,
  });
  if (check.status !== 0) {
    cleanup();
    throw new Error(`the compiled library does not load (${check.status}):\n${check.stderr}`);
  }
  return { index, cleanup };
}
