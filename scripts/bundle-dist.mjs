#!/usr/bin/env node
// Second step of `npm run build:ts`: turns tsc's one-module-per-source output in dist/ into a few
// ES modules. Why: each ES module costs Node a URL resolution, a file read, a compile and a
// ModuleWrap, and resolving ~120 of them makes the loader's own JavaScript hot enough for V8's
// optimizing compiler to run during `import "cryptotensors"` — together ~9 MiB of resident memory
// before anything is loaded (issue 13, peak RSS; bench/scenarios/peak-rss.mjs shows the parts).
//
// What stays exactly as it was: every path in package.json "exports" and "bin" (the entries keep
// their names), the CommonJS shims (index.cjs files, which require the ESM entries), and every
// .d.ts/.d.cts file tsc wrote (types do not depend on where the JavaScript lives). Lazy `import()`
// boundaries stay lazy: esbuild's code splitting puts each dynamically imported module in its own
// chunk, loaded on first use. Dependencies (jose, node-gyp-build, onnx-proto, ...) stay external.
// Shared code goes to dist/chunks/; every other tsc .js file is removed, so that no module can be
// loaded twice under two paths (two copies would mean two sets of error classes and state).
//
// Usage: node scripts/bundle-dist.mjs   (after `tsc -p tsconfig.build.json`)
import { existsSync, readdirSync, renameSync, rmSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

// Public entries (package.json "exports" and "bin") and the internal modules that the benchmarks
// and tests import by path (one instance shared with the public entry through the chunks).
const ENTRIES = [
  "index.js",
  "onnxruntime/index.js",
  "tfjs/index.js",
  "cli/main.js",
  "native/index.js",
  "native/addon.js",
  "policy/index.js",
];

for (const entry of ENTRIES) {
  if (!existsSync(join(DIST, entry))) {
    console.error(`bundle-dist: ${join("dist", entry)} is missing; run tsc first`);
    process.exit(1);
  }
}

const staging = join(DIST, "..", ".cache", "dist-bundle");
rmSync(staging, { recursive: true, force: true });
await build({
  entryPoints: ENTRIES.map((entry) => join(DIST, entry)),
  outbase: DIST,
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  // tsc already compiled to the project's target; esbuild only concatenates.
  target: "esnext",
  packages: "external",
  chunkNames: "chunks/[name]-[hash]",
  // No keepNames: its __name(fn, "...") call on each of ~800 functions redefines their `name`
  // at import and cost ~1.1 MiB of peak RSS (interleaved fresh processes, issue 13). Names stay
  // the sources' anyway, except where esbuild must rename (two modules' private helpers of the
  // same name: `invalid2` in a stack trace) or binds a class that names itself in its own body
  // as `var X = class _X`: the public exports are checked below. Comments and whitespace go
  // (V8 keeps each module's source text in the heap: 640 -> 490 KB).
  keepNames: false,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
});

/** Every file under `dir`, as paths relative to it. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

// Out with tsc's per-module JavaScript (types and CommonJS shims stay), in with the bundle.
for (const file of walk(DIST)) if (file.endsWith(".js")) rmSync(join(DIST, file));
rmSync(join(DIST, "chunks"), { recursive: true, force: true });
for (const file of walk(staging)) {
  mkdirSync(dirname(join(DIST, file)), { recursive: true });
  renameSync(join(staging, file), join(DIST, file));
}
rmSync(staging, { recursive: true, force: true });

// Every exported class and function of the public entries keeps its own name (`.name`, shown by
// util.inspect and in stack traces); a bundler rename there fails the build.
const PUBLIC = ["index.js", "onnxruntime/index.js", "tfjs/index.js"];
const renamed = [];
for (const entry of PUBLIC) {
  const exports = await import(pathToFileURL(join(DIST, entry)).href);
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === "function" && value.name !== name)
      renamed.push(`${entry}: ${name} is named ${JSON.stringify(value.name)}`);
  }
}
if (renamed.length > 0) {
  console.error(`bundle-dist: public exports renamed by the bundle:\n  ${renamed.join("\n  ")}`);
  process.exit(1);
}
