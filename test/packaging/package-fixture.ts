// Builds the package as a publisher would and installs it as users do, for the packaging tests:
// a staging copy of the checkout (never touching its build/, prebuilds/ or dist/, which other
// tests use) runs `npm run prebuild` (linux-x64 + linux-arm64) and `npm pack`; consumers are
// empty projects that `npm install` the tarball, resolving its dependencies from the npm cache
// or the registry like a user's install (CI starts with an empty cache of its own).
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/native/addon.js";
import { runChild } from "../support/child.js";

/** node-gyp uses the local headers; no backend is forced on the consumers. */
export const env: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_nodedir: "/usr",
  CRYPTOTENSORS_BACKEND: "",
};

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command as an asynchronous child (a synchronous one would stall vitest's worker RPC
 * while tsc, attw or npm run); `check` (default) rejects with its output when it exits non-zero.
 */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: NodeJS.ProcessEnv = {},
  check = true,
): Promise<RunResult> {
  const result = await runChild(command, args, {
    cwd,
    env: { ...env, ...extraEnv },
    maxBuffer: 64 << 20,
    timeout: 600_000,
  });
  if (check && result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `run` without blocking the test worker: a long synchronous child (prebuild compiles, installs)
 * would stall vitest's worker RPC past its 60 s timeout.
 */
export function runAsync(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: { ...env, ...extraEnv },
        encoding: "utf8",
        maxBuffer: 64 << 20,
        timeout: 600_000,
      },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        if (status !== 0) {
          reject(
            new Error(`${command} ${args.join(" ")} failed (${status}):\n${stdout}\n${stderr}`),
          );
          return;
        }
        resolve({ status, stdout, stderr });
      },
    );
  });
}

export interface PackedPackage {
  work: string;
  staging: string;
  /** The package as published: dist/, both prebuilds, LICENSE, docs. */
  tarball: string;
  /** The same package without prebuilds/: a platform we ship no binary for. */
  tarballWithoutPrebuilds: string;
}

const STAGED = [
  "package.json",
  ".npmrc",
  "binding.gyp",
  "native",
  "README.md",
  "LICENSE",
  "docs",
  "onnxruntime",
  "tfjs",
  "scripts",
  "src",
  "tsconfig.json",
  "tsconfig.build.json",
];

async function pack(dir: string, destination: string, extra: string[] = []): Promise<string> {
  const packed = JSON.parse(
    (await runAsync("npm", ["pack", "--json", "--pack-destination", destination, ...extra], dir))
      .stdout,
  ) as Array<{ filename: string }>;
  return join(destination, packed[0]!.filename);
}

/** Stages the checkout, builds both prebuilds and packs the package (with and without them). */
export async function packPackage(): Promise<PackedPackage> {
  const work = mkdtempSync(join(tmpdir(), "ct-pack-"));
  const staging = join(work, "staging");
  mkdirSync(staging);
  for (const entry of STAGED) {
    if (existsSync(join(PACKAGE_ROOT, entry)))
      cpSync(join(PACKAGE_ROOT, entry), join(staging, entry), { recursive: true });
  }
  symlinkSync(join(PACKAGE_ROOT, "node_modules"), join(staging, "node_modules"), "dir");
  await runAsync("npm", ["run", "prebuild"], staging);
  // `npm pack` runs `prepare` (builds dist/ from src/) and `prepack` (refuses without prebuilds).
  const tarball = await pack(staging, work);
  const bare = join(work, "bare");
  cpSync(staging, bare, { recursive: true, verbatimSymlinks: true });
  rmSync(join(bare, "prebuilds"), { recursive: true });
  mkdirSync(join(work, "bare-out"));
  // dist/ is already built; --ignore-scripts skips prepack, which (rightly) refuses this one.
  const tarballWithoutPrebuilds = await pack(bare, join(work, "bare-out"), ["--ignore-scripts"]);
  return { work, staging, tarball, tarballWithoutPrebuilds };
}

/**
 * Makes an empty project (`type` "module" or "commonjs") and installs `tarball` into it with
 * `npm install` plus `flags`; returns the project directory and the install's output.
 */
export async function installInto(
  work: string,
  name: string,
  tarball: string,
  options: { type?: "module" | "commonjs"; flags?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ dir: string; output: RunResult }> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name, private: true, type: options.type ?? "module" }),
  );
  const output = await runAsync(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--foreground-scripts",
      ...(options.flags ?? []),
      tarball,
    ],
    dir,
    options.env,
  );
  return { dir, output };
}

/**
 * A PATH with node and the shell tools npm needs but no C/C++ compiler, make or python: a
 * machine without a toolchain.
 */
export async function pathWithoutToolchain(work: string): Promise<string> {
  const bin = join(work, "no-toolchain-bin");
  mkdirSync(bin, { recursive: true });
  const tools = ["sh", "bash", "env", "cat", "ls", "mkdir", "rm", "cp", "mv", "uname", "tar"];
  for (const tool of tools) {
    for (const dir of ["/usr/bin", "/bin"]) {
      if (existsSync(join(dir, tool)) && !existsSync(join(bin, tool))) {
        symlinkSync(join(dir, tool), join(bin, tool));
      }
    }
  }
  symlinkSync(process.execPath, join(bin, "node"));
  const npm = (await run("sh", ["-c", "command -v npm"], work)).stdout.trim();
  symlinkSync(npm, join(bin, "npm"));
  return bin;
}
