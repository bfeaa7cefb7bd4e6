#!/usr/bin/env node
// The package's npm `install` hook. Picks the native addon in this order: the prebuild for this
// platform (prebuilds/<platform>-<arch>/, loaded once to prove it runs here), else a local compile
// with node-gyp. A consumer's install never fails for lack of a compiler: without a usable
// prebuild and without a toolchain, it prints one warning naming what is missing and the package
// runs on its pure TypeScript backend. In a development checkout (src/ present) a failed compile
// fails the install, because the tests need the native path.
// CommonJS on purpose: it runs before anything is built, under any Node the engines field allows.
"use strict";

const { spawnSync } = require("node:child_process");
const { existsSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const developing = existsSync(path.join(root, "src", "index.ts"));
const target = `${process.platform}-${process.arch}`;
const rebuildHint =
  "install g++, make, python3 and libssl-dev (and libipsec-mb-dev on x86-64), then run `npm rebuild cryptotensors`";

function say(line) {
  process.stderr.write(`cryptotensors: ${line}\n`);
}

/** Loads a candidate binary; returns its nativeInfo() or the reason it cannot run here. */
function probe(file) {
  try {
    const binding = require(file);
    return { info: binding.nativeInfo() };
  } catch (error) {
    return { error: error instanceof Error ? error.message.split("\n")[0] : String(error) };
  }
}

function engineLine(info) {
  let ipsec;
  if (info.ipsecMbBuilt) {
    ipsec = info.ipsecMbUsable
      ? "ipsec-mb built in and used (this CPU has AVX-512 + VAES)"
      : `ipsec-mb built in, unused here (this CPU lacks AVX-512/VAES), ${info.vaesAvx2Usable ? "the addon's VAES/AVX2 code" : "OpenSSL"} serves AES-GCM`;
  } else if (process.arch === "x64") {
    ipsec =
      "ipsec-mb NOT built in (libipsec-mb-dev was not installed when compiling; install it and run `npm rebuild cryptotensors` for the fastest AES-GCM)";
  } else {
    ipsec = "ipsec-mb does not exist for this CPU, OpenSSL serves AES-GCM";
  }
  return `${info.openssl} (static); AES-GCM engine: ${info.aesGcmEngine}; ${ipsec}`;
}

function findBinary() {
  try {
    return require("node-gyp-build").path(root);
  } catch {
    return undefined;
  }
}

function commandExists(name) {
  return spawnSync("sh", ["-c", `command -v "${name}"`], { stdio: "ignore" }).status === 0;
}

/** The build prerequisites this machine lacks (binding.gyp needs all of them). */
function missingToolchain() {
  const missing = [];
  const cxx = process.env.CXX || "c++";
  if (!commandExists(cxx) && !commandExists("g++")) missing.push("a C++ compiler (g++)");
  if (!commandExists("make")) missing.push("make");
  if (!commandExists("python3")) missing.push("python3");
  const sslHeaders = spawnSync("sh", ["-c", "pkg-config --exists libcrypto"], { stdio: "ignore" });
  if (sslHeaders.status !== 0 && !existsSync("/usr/include/openssl/evp.h"))
    missing.push("the OpenSSL headers and static library (libssl-dev)");
  return missing;
}

function compile() {
  // npm exposes its bundled node-gyp through npm_config_node_gyp; otherwise use one on PATH.
  const gypScript = process.env.npm_config_node_gyp;
  const [command, args] =
    gypScript && existsSync(gypScript)
      ? [process.execPath, [gypScript, "rebuild"]]
      : ["node-gyp", ["rebuild"]];
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  return result.status === 0;
}

function fallBack(reason) {
  if (developing) {
    say(`${reason}. The development checkout needs the native addon: ${rebuildHint}.`);
    process.exit(1);
  }
  say(
    `WARNING: ${reason}; using the pure TypeScript backend (node:crypto, slower, same results). For the native path, ${rebuildHint}.`,
  );
  process.exit(0);
}

function main() {
  // A development checkout always compiles, so that `npm ci` never keeps a stale build/.
  const fromSource = developing || process.env.npm_config_build_from_source === "true";
  let prebuildProblem = "";
  if (!fromSource) {
    const found = findBinary();
    if (found) {
      const result = probe(found);
      if (result.info) {
        const kind = found.includes(`${path.sep}prebuilds${path.sep}`) ? "prebuilt" : "compiled";
        say(`native addon ready (${kind}, ${target}): ${engineLine(result.info)}`);
        return;
      }
      prebuildProblem = ` (${path.relative(root, found)} does not load here: ${result.error})`;
    }
  }
  const why = fromSource
    ? developing
      ? "development checkout"
      : "building from source as requested"
    : `no usable prebuilt binary for ${target}${prebuildProblem}`;
  const missing = missingToolchain();
  if (missing.length > 0) {
    fallBack(`${why} and it cannot be compiled here: ${missing.join(", ")} not found`);
    return;
  }
  say(`${why}: compiling the addon with node-gyp`);
  if (!compile()) {
    fallBack(`${why} and compiling it failed (see the node-gyp output above)`);
    return;
  }
  const built = findBinary();
  const result = built ? probe(built) : { error: "node-gyp produced no binary" };
  if (!result.info) {
    fallBack(`the freshly compiled addon does not load: ${result.error}`);
    return;
  }
  say(`native addon compiled (${target}): ${engineLine(result.info)}`);
}

main();
