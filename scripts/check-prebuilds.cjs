#!/usr/bin/env node
// `prepack` guard: refuses to pack a package that lacks a supported platform's prebuild, so a
// publish can never ship without them (run `npm run prebuild` first). Checks each binary is an
// ELF shared object for the right CPU, and that the x86-64 one carries the ipsec-mb engine.
"use strict";

const { readdirSync, readFileSync, existsSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
// ELF e_machine values (System V ABI): EM_X86_64 = 62, EM_AARCH64 = 183.
const PLATFORMS = [
  { dir: "linux-x64", machine: 62 },
  { dir: "linux-arm64", machine: 183 },
];
const problems = [];

for (const { dir, machine } of PLATFORMS) {
  const folder = path.join(root, "prebuilds", dir);
  const binaries = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith(".node")) : [];
  if (binaries.length !== 1) {
    problems.push(`prebuilds/${dir}: expected one .node file, found ${binaries.length}`);
    continue;
  }
  const file = path.join(folder, binaries[0]);
  const bytes = readFileSync(file);
  const isElf = bytes.subarray(0, 4).toString("latin1") === "\x7fELF";
  if (!isElf || bytes.readUInt16LE(18) !== machine) {
    problems.push(`prebuilds/${dir}/${binaries[0]}: not an ELF binary for ${dir}`);
    continue;
  }
  if (!binaries[0].includes(".glibc.")) {
    problems.push(`prebuilds/${dir}/${binaries[0]}: not tagged with its libc (.glibc.)`);
  }
  if (dir === `${process.platform}-${process.arch}`) {
    const info = require(file).nativeInfo();
    if (dir === "linux-x64" && !info.ipsecMbBuilt) {
      problems.push(`prebuilds/${dir}: built without ipsec-mb (install libipsec-mb-dev)`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(
    `cryptotensors: refusing to pack without complete prebuilds; run \`npm run prebuild\` (see scripts/prebuild.sh):\n  ${problems.join("\n  ")}\n`,
  );
  process.exit(1);
}
