// Packaging as users get it (issue 12): the packed tarball installs into empty projects and runs
// from ESM, CommonJS and TypeScript (node16, nodenext, bundler); with a prebuild it never
// compiles; without one and without a toolchain it still installs and runs the TypeScript
// fallback with one warning; attw and publint find nothing. Depends on the public entry exporting
// nativeInfo, saveFile, loadFile and backendName.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  env,
  installInto,
  type PackedPackage,
  packPackage,
  pathWithoutToolchain,
  run,
} from "./package-fixture.js";
import { runChild } from "../support/child.js";

let packed: PackedPackage;
let consumer = "";
let installOutput = "";

beforeAll(async () => {
  packed = await packPackage();
  const installed = await installInto(packed.work, "consumer", packed.tarball);
  consumer = installed.dir;
  installOutput = installed.output.stdout + installed.output.stderr;
});

// Removed asynchronously: the staging copy and the consumers' node_modules are thousands of
// files, seconds of synchronous unlinking on a loaded machine (4.0 s at load 6).
afterAll(async () => {
  if (packed) await rm(packed.work, { recursive: true, force: true });
});

const ROUND_TRIP = (path: string) => `
  const path = ${JSON.stringify(path)};
  await saveFile(path, { w: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
  const loaded = await loadFile(path);
  const w = loaded.w;
  const values = Array.from(new Float32Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength)));
  console.log(JSON.stringify({ backend: backendName(), dtype: w.dtype, shape: w.shape, values }));`;

// Asynchronous: tsc in a consumer takes tens of seconds on a loaded machine, which a
// synchronous child would spend with the test worker unable to answer vitest's RPC.
function node(args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return runChild(process.execPath, args, { cwd, env: { ...env, ...extraEnv } });
}

describe("the tarball", () => {
  const files = () =>
    execFileSync("tar", ["-tzf", packed.tarball], { encoding: "utf8" }).split("\n");

  it("carries dist/, both libc-tagged prebuilds, the install hook, LICENSE and docs", () => {
    const list = files();
    for (const file of [
      "package/dist/index.js",
      "package/dist/index.d.ts",
      "package/binding.gyp",
      "package/LICENSE",
      "package/README.md",
      "package/scripts/install-native.cjs",
      "package/docs/key-management.md",
      "package/prebuilds/linux-x64/cryptotensors.glibc.node",
      "package/prebuilds/linux-arm64/cryptotensors.glibc.node",
    ]) {
      expect(list).toContain(file);
    }
  });

  it("carries no build/, no sources, no source maps", () => {
    const list = files();
    expect(list.filter((f) => f.startsWith("package/build/"))).toEqual([]);
    expect(list.filter((f) => f.startsWith("package/src/"))).toEqual([]);
    expect(list.filter((f) => f.endsWith(".js.map") || f.endsWith(".d.ts.map"))).toEqual([]);
  });

  it("prepack refuses to pack without the prebuilds", async () => {
    const bare = join(packed.work, "bare");
    const result = await run("npm", ["pack", "--dry-run"], bare, {}, false);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/refusing to pack without complete prebuilds/);
    expect(result.stderr).toMatch(/prebuilds\/linux-arm64/);
  });

  it("attw finds no problem for node10, node16 (CJS and ESM) and bundler", async () => {
    const attw = join(packed.staging, "node_modules", ".bin", "attw");
    const result = await run(attw, [packed.tarball, "--format", "json"], packed.work, {}, false);
    const report = JSON.parse(result.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
    expect(result.status).toBe(0);
  });

  it("publint finds nothing", async () => {
    const publint = join(packed.staging, "node_modules", ".bin", "publint");
    const result = await run(publint, ["run", "--strict", packed.tarball], packed.work, {}, false);
    expect(result.stdout + result.stderr).not.toMatch(/error|warning|suggestion/i);
    expect(result.status).toBe(0);
  });
});

describe("installed with its prebuild", () => {
  it("installs without compiling and says which engine it runs", async () => {
    const installed = join(consumer, "node_modules", "cryptotensors");
    expect(existsSync(join(installed, "build"))).toBe(false);
    expect(installOutput).toMatch(/cryptotensors: native addon ready \(prebuilt, linux-x64\)/);
    expect(installOutput).toMatch(
      /AES-GCM engine: (openssl|ipsec-mb|vaes-avx2); ipsec-mb built in/,
    );
    const resolved = (
      await run(
        process.execPath,
        ["-e", `console.log(require("node-gyp-build").path(${JSON.stringify(installed)}))`],
        consumer,
      )
    ).stdout.trim();
    expect(resolved).toMatch(/\/prebuilds\/linux-x64\/cryptotensors\.glibc\.node$/);
  });

  it("ESM: imports, writes, reads and reports the native OpenSSL", async () => {
    writeFileSync(
      join(consumer, "use.mjs"),
      `import { nativeInfo, saveFile, loadFile, backendName } from "cryptotensors";
       ${ROUND_TRIP(join(consumer, "esm.safetensors"))}
       console.log(JSON.stringify(nativeInfo()));`,
    );
    const result = await node(["use.mjs"], consumer);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/pure TypeScript backend/);
    const [roundTrip, info] = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(roundTrip).toEqual({
      backend: "native",
      dtype: "F32",
      shape: [2, 2],
      values: [1, 2, 3, 4],
    });
    expect(info.openssl).toMatch(/^OpenSSL /);
    expect(info.opensslDir).toBe(
      execFileSync("openssl", ["version", "-d"], { encoding: "utf8" }).trim(),
    );
    expect(info.ipsecMbBuilt).toBe(true);
  });

  it("CommonJS: require('cryptotensors') works (require(esm), Node >= 20.19)", async () => {
    writeFileSync(
      join(consumer, "use.cjs"),
      `const { saveFile, loadFile, backendName, CryptoTensorsError } = require("cryptotensors");
       if (typeof CryptoTensorsError !== "function") throw new Error("no CryptoTensorsError");
       (async () => { ${ROUND_TRIP(join(consumer, "cjs.safetensors"))} })();`,
    );
    const result = await node(["use.cjs"], consumer);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/ExperimentalWarning|pure TypeScript backend/);
    expect(JSON.parse(result.stdout)).toEqual({
      backend: "native",
      dtype: "F32",
      shape: [2, 2],
      values: [1, 2, 3, 4],
    });
  });

  it.each([
    ["node16", "node16", "use.mts"],
    ["node16", "node20", "use.cts"],
    ["nodenext", "nodenext", "use.mts"],
    ["nodenext", "nodenext", "use.cts"],
    ["bundler", "esnext", "use.ts"],
  ])(
    "TypeScript consumer (moduleResolution %s, module %s, %s) type-checks",
    async (resolution, module, file) => {
      const dir = join(consumer, `ts-${resolution}-${file}`);
      await run("mkdir", ["-p", dir], consumer);
      const usesRequire = file.endsWith(".cts");
      writeFileSync(
        join(dir, file),
        `${usesRequire ? 'import ct = require("cryptotensors");\nconst { loadFile, saveFile, tensorView } = ct;\ntype LoadOptions = ct.LoadOptions;' : 'import { loadFile, saveFile, tensorView, type LoadOptions } from "cryptotensors";'}
       export const options: LoadOptions = {};
       export async function first(path: string): Promise<Float32Array | undefined> {
         const tensors = await loadFile(new URL(\`file://\${path}\`));
         const w = tensors["w"];
         return w?.dtype === "F32" ? tensorView({ dtype: w.dtype, data: w.data }) : undefined;
       }
       // @ts-expect-error keys are JWKs, JWK sets or parsed keys, not any record
       void loadFile("m.safetensors", { keys: { nonsense: 1 } });
       // @ts-expect-error encKey and signKey are keys, not a number and a string
       void saveFile("m.safetensors", {}, { encryption: { encKey: 42, signKey: "oops" } });\n`,
      );
      const tsc = join(packed.staging, "node_modules", "typescript", "bin", "tsc");
      const result = await node(
        [
          tsc,
          "--noEmit",
          "--strict",
          "--target",
          "es2022",
          "--types",
          "node",
          "--typeRoots",
          join(packed.staging, "node_modules", "@types"),
          "--module",
          module,
          "--moduleResolution",
          resolution,
          join(dir, file),
        ],
        consumer,
      );
      expect(result.stdout + result.stderr).toBe("");
      expect(result.status).toBe(0);
    },
  );
});

describe("installed where no prebuild matches", () => {
  it("without a toolchain: installs, warns once what is missing, and runs the fallback", async () => {
    const bin = await pathWithoutToolchain(packed.work);
    const { dir, output } = await installInto(
      packed.work,
      "no-toolchain",
      packed.tarballWithoutPrebuilds,
      {
        env: { PATH: bin, CXX: "" },
      },
    );
    const text = output.stdout + output.stderr;
    expect(text.match(/cryptotensors: WARNING/g)).toHaveLength(1);
    expect(text).toMatch(/no usable prebuilt binary for linux-x64 and it cannot be compiled here/);
    expect(text).toMatch(/a C\+\+ compiler \(g\+\+\), make, python3 not found/);
    expect(text).toMatch(/npm rebuild cryptotensors/);
    expect(existsSync(join(dir, "node_modules", "cryptotensors", "build"))).toBe(false);
    writeFileSync(
      join(dir, "use.mjs"),
      `import { saveFile, loadFile, backendName } from "cryptotensors";
       ${ROUND_TRIP(join(dir, "fallback.safetensors"))}`,
    );
    const result = await node(["use.mjs"], dir);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ backend: "fallback", values: [1, 2, 3, 4] });
    expect(result.stderr.match(/CryptoTensorsWarning/g)).toHaveLength(1);
  });

  it("with install scripts disabled: one warning, once, that names the way to the native path", async () => {
    const { dir } = await installInto(packed.work, "no-scripts", packed.tarballWithoutPrebuilds, {
      flags: ["--ignore-scripts"],
    });
    expect(readdirSync(join(dir, "node_modules", "cryptotensors"))).not.toContain("build");
    writeFileSync(
      join(dir, "use.mjs"),
      `import { saveFile, loadFile, backendName, nativeInfo } from "cryptotensors";
       ${ROUND_TRIP(join(dir, "fallback.safetensors"))}
       try { nativeInfo(); } catch (e) { console.log(JSON.stringify({ code: e.code })); }`,
    );
    const result = await node(["use.mjs"], dir);
    expect(result.status, result.stderr).toBe(0);
    const [roundTrip, failure] = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(roundTrip).toMatchObject({ backend: "fallback", values: [1, 2, 3, 4] });
    expect(failure).toEqual({ code: "ERR_NATIVE_UNAVAILABLE" });
    expect(result.stderr.match(/CryptoTensorsWarning/g)).toHaveLength(1);
    expect(result.stderr.match(/No native build was found/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/npm rebuild cryptotensors/);
    expect(result.stderr).not.toMatch(/build:native/);
  });
});
