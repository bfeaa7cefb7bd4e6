// Issue 11, finding 4: an interrupted `decrypt` (SIGINT/SIGTERM) leaves no temporary file of
// decrypted weights; temporary files are 0600 while they exist; a decrypted output is never more
// readable than its input. Run on both backends (CRYPTOTENSORS_BACKEND) through the real CLI.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeySet, saveFile } from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";
import { CLI, runCli } from "./run-cli.js";

const dir = tempDir("ct-interrupt-");
const at = (name: string) => join(dir, name);
const keys = generateKeySet({ encKid: "enc-1", signKid: "sign-1" });
const keysPath = at("keys.json");
writeFileSync(keysPath, JSON.stringify(keys));

const BIG = 96 * 1024 * 1024;
let model: Promise<string> | undefined;
/** One encrypted model large enough that a decrypt takes a noticeable time (small chunks). */
function bigModel(): Promise<string> {
  model ??= (async () => {
    const path = at("big.ct");
    const data = new Uint8Array(BIG);
    for (let i = 0; i < BIG; i += 65536) data.set(randomBytes(64), i);
    await saveFile(
      path,
      { w: { dtype: "U8", shape: [BIG], data } },
      { encryption: { encKey: keys.keys[0], signKey: keys.keys[1], chunkSize: 4096 } },
    );
    chmodSync(path, 0o600);
    return path;
  })();
  return model;
}

const temps = (where: string, name: string) =>
  readdirSync(where).filter((f) => f.startsWith(`.${name}.`) && f.endsWith(".tmp"));

describe.each(["native", "fallback"] as const)("decrypt on the %s backend", (backend) => {
  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s mid-write removes the 0600 temporary file and exits 1 with ERR_ABORTED",
    async (signal) => {
      const input = await bigModel();
      const outName = `out-${backend}-${signal}.safetensors`;
      const child = spawn(
        process.execPath,
        [CLI, "decrypt", input, at(outName), "--keys", keysPath, "--quiet"],
        {
          env: { ...process.env, CRYPTOTENSORS_BACKEND: backend },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );
      // Wait for the temporary output to appear, check its mode, then interrupt.
      const deadline = Date.now() + 30_000;
      let temp: string | undefined;
      while (Date.now() < deadline && temp === undefined && child.exitCode === null) {
        temp = temps(dir, outName)[0];
        if (temp === undefined) await new Promise((r) => setTimeout(r, 2));
      }
      expect(temp, "the decrypt finished before a temporary file was seen").toBeDefined();
      expect(statSync(join(dir, temp as string)).mode & 0o777).toBe(0o600);
      child.kill(signal);
      const code = await exited;
      expect(code).toBe(1);
      expect(stderr).toMatch(/ERR_ABORTED/);
      expect(temps(dir, outName)).toEqual([]);
      expect(existsSync(at(outName))).toBe(false);
    },
    60_000,
  );

  it("a 0600 input decrypts to a 0600 output (not 0644)", async () => {
    const input = at(`small-${backend}.ct`);
    await saveFile(
      input,
      { w: { dtype: "U8", shape: [16], data: new Uint8Array(16) } },
      { encryption: { encKey: keys.keys[0], signKey: keys.keys[1] } },
    );
    chmodSync(input, 0o600);
    const out = at(`small-${backend}.safetensors`);
    const result = await runCli(["decrypt", input, out, "--keys", keysPath, "--quiet"], {
      CRYPTOTENSORS_BACKEND: backend,
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});
