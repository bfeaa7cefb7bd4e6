// Packaging as users get it (issue 2 item 6): build dist/ and the prebuild in a staging copy of
// the package (never touching the checkout's build/, prebuilds/ or dist/, which other tests use),
// `npm pack` it, install the tarball into an empty project, and use it without compiling.
// Depends on the public entry src/index.ts exporting nativeInfo, saveFile and loadFile.
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/native/addon.js";

const work = mkdtempSync(join(tmpdir(), "ct-pack-"));
const staging = join(work, "staging");
const consumer = join(work, "consumer");
const installed = join(consumer, "node_modules", "cryptotensors");
// node-gyp must use the local headers. The consumer's install resolves the tarball's own
// dependencies (node-gyp-build, node-addon-api) as a user's would: from the npm cache when it has
// them, from the registry when it does not (CI starts with an empty cache of its own).
const env = {
  ...process.env,
  npm_config_nodedir: "/usr",
  CRYPTOTENSORS_BACKEND: "",
};
let tarball = "";

function run(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): string {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

beforeAll(() => {
  mkdirSync(staging);
  for (const entry of [
    "package.json",
    ".npmrc",
    "binding.gyp",
    "native",
    "README.md",
    "src",
    "tsconfig.json",
    "tsconfig.build.json",
  ]) {
    if (existsSync(join(PACKAGE_ROOT, entry)))
      cpSync(join(PACKAGE_ROOT, entry), join(staging, entry), { recursive: true });
  }
  symlinkSync(join(PACKAGE_ROOT, "node_modules"), join(staging, "node_modules"), "dir");
  // `npm pack` runs the package's `prepare` script, which builds dist/ from src/ as a publisher would.
  run("npm", ["run", "prebuild"], staging);
  rmSync(join(staging, "build"), { recursive: true, force: true });
  const packed = JSON.parse(
    run("npm", ["pack", "--json", "--pack-destination", work], staging),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed[0]!.filename);
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--foreground-scripts", tarball],
    consumer,
    {
      npm_config_node_gyp: "/bin/false",
    },
  );
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("npm pack + install into an empty project", () => {
  it("the tarball carries dist/ and the generated prebuild, not build/", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/binding.gyp");
    expect(
      files.filter((f) => /^package\/prebuilds\/linux-x64\/[^/]+\.node$/.test(f)),
    ).toHaveLength(1);
    expect(files.filter((f) => f.startsWith("package/build/"))).toEqual([]);
  });

  it("installs without compiling: no build/ directory, node-gyp-build resolves the prebuild", () => {
    expect(existsSync(join(installed, "build"))).toBe(false);
    expect(readdirSync(join(installed, "prebuilds", "linux-x64"))).toHaveLength(1);
    const resolved = run(
      process.execPath,
      ["-e", `console.log(require("node-gyp-build").path(${JSON.stringify(installed)}))`],
      consumer,
    ).trim();
    expect(resolved).toMatch(/\/node_modules\/cryptotensors\/prebuilds\/linux-x64\/[^/]+\.node$/);
  });

  it("imports, writes, reads and reports nativeInfo through the native path", () => {
    const script = `
      import { nativeInfo, saveFile, loadFile, backendName } from "cryptotensors";
      const path = ${JSON.stringify(join(consumer, "small.safetensors"))};
      await saveFile(path, { w: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
      const loaded = await loadFile(path);
      const w = loaded.w;
      console.log(JSON.stringify({ info: nativeInfo(), backend: backendName(), dtype: w.dtype, shape: w.shape,
        values: Array.from(new Float32Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength))) }));`;
    writeFileSync(join(consumer, "use.mjs"), script);
    const result = spawnSync(process.execPath, ["use.mjs"], {
      cwd: consumer,
      env,
      encoding: "utf8",
    });
    expect(result.stderr).not.toMatch(/pure TypeScript backend/);
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      info: { openssl: string; opensslDir: string };
      backend: string;
      dtype: string;
      shape: number[];
      values: number[];
    };
    expect(out.backend).toBe("native");
    expect(out.info.openssl).toMatch(/^OpenSSL /);
    expect(out.info.opensslDir).toBe(
      execFileSync("openssl", ["version", "-d"], { encoding: "utf8" }).trim(),
    );
    expect(out).toMatchObject({ dtype: "F32", shape: [2, 2], values: [1, 2, 3, 4] });
  });

  it("without a usable binary it falls back to TypeScript with exactly one warning", () => {
    const broken = join(work, "broken");
    cpSync(consumer, broken, { recursive: true, verbatimSymlinks: true });
    rmSync(join(broken, "node_modules", "cryptotensors", "prebuilds"), { recursive: true });
    // The native layer's own module (by path: it is not a public subpath), so that this check
    // does not depend on the rest of the public entry.
    const script = `
      import { writeFileSync } from "node:fs";
      import { getBackend, backendName, nativeInfo } from "./node_modules/cryptotensors/dist/native/index.js";
      writeFileSync("bytes.bin", new Uint8Array([7, 8, 9]));
      const file = await getBackend().open("bytes.bin");
      const dest = new Uint8Array(3);
      await file.readInto(0, 3, dest);
      await file.close();
      getBackend();
      let code = "";
      try { nativeInfo(); } catch (e) { code = e.code; }
      console.log(JSON.stringify({ backend: backendName(), bytes: Array.from(dest), code }));`;
    writeFileSync(join(broken, "use.mjs"), script);
    const result = spawnSync(process.execPath, ["use.mjs"], { cwd: broken, env, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      backend: "fallback",
      bytes: [7, 8, 9],
      code: "ERR_NATIVE_UNAVAILABLE",
    });
    expect(result.stderr.match(/CryptoTensorsWarning/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/No native build was found/);
  });
});
