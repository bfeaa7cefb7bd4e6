// CLI conventions (issue 12 item 6): per-command help, --version, short usage errors with
// did-you-mean (exit 2), "-" refused where a file is needed, inspect --json sizes and totals,
// verify --json. Runs the built CLI (dist/cli/main.js).
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { saveFile } from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";
import { runCli as run } from "./run-cli.js";

const dir = tempDir("ct-cli-conv-");
const at = (name: string) => join(dir, name);
const COMMANDS = [
  "keygen",
  "encrypt",
  "decrypt",
  "verify",
  "inspect",
  "rewrap",
  "encrypt-onnx",
  "decrypt-onnx",
];

describe("CLI conventions", () => {
  it("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, "../../package.json"), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const result = await run([flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it("--help lists every command; COMMAND --help prints that command's usage (exit 0)", async () => {
    const overview = await run(["--help"]);
    expect(overview.status).toBe(0);
    for (const name of COMMANDS) expect(overview.stdout).toMatch(new RegExp(`\\n  ${name} `));
    for (const name of COMMANDS) {
      const help = await run([name, "--help"]);
      expect(help.status).toBe(0);
      expect(help.stdout.startsWith(`usage: cryptotensors ${name} `)).toBe(true);
      expect((await run(["help", name])).stdout).toBe(help.stdout);
    }
  });

  it("no arguments: the overview on stderr, exit 2", async () => {
    const result = await run([]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^usage: cryptotensors COMMAND/);
  });

  it("usage errors are three short lines with did-you-mean, exit 2", async () => {
    const option = await run(["decrypt", "--kyes", "k.json", "a", "b"]);
    expect(option.status).toBe(2);
    const lines = option.stderr.trim().split("\n");
    expect(lines[0]).toBe("cryptotensors decrypt: unknown option --kyes (did you mean --keys?)");
    expect(lines.at(-1)).toBe('Run "cryptotensors decrypt --help" for more.');
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(option.stderr).not.toMatch(/keygen|rewrap/);

    const command = await run(["decrpyt", "a", "b"]);
    expect(command.status).toBe(2);
    expect(command.stderr).toMatch(
      /^cryptotensors: unknown command "decrpyt" \(did you mean decrypt\?\)/,
    );

    const missing = await run(["encrypt", "a", "b", "--chunk-size"]);
    expect(missing.stderr).toMatch(/^cryptotensors encrypt: option --chunk-size needs a value\n/);
    const count = await run(["inspect"]);
    expect(count.stderr).toMatch(/^cryptotensors inspect: expected IN, got 0 arguments\n/);
  });

  it('"-" is refused for files (no file named "-" is written)', async () => {
    const result = await run(["decrypt", at("in.safetensors"), "-"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/"-" \(standard input\/output\) is not supported for OUT/);
    expect(() => statSync("-")).toThrow();
  });

  it("inspect --json carries sizes, totals and the policy; verify --json the result", async () => {
    const keygen = await run(["keygen"]);
    writeFileSync(at("k.json"), keygen.stdout);
    await saveFile(at("p.safetensors"), {
      w: { dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
      b: { dtype: "I64", shape: [4], data: new BigInt64Array(4) },
    });
    expect(
      (
        await run([
          "encrypt",
          at("p.safetensors"),
          at("e.ct"),
          "--keys",
          at("k.json"),
          "--tensor",
          "w",
        ])
      ).status,
    ).toBe(0);
    const inspect = await run(["inspect", at("e.ct"), "--json"]);
    expect(inspect.status).toBe(0);
    const d = JSON.parse(inspect.stdout);
    expect(d.fileSize).toBe(statSync(at("e.ct")).size);
    expect(d.headerSize + d.dataSize).toBe(d.fileSize);
    expect(d.totals).toMatchObject({ tensors: 2, elements: 10, encryptedTensors: 1 });
    expect(d.policy.local).toMatch(/package model/);

    const ok = await run(["verify", at("e.ct"), "--keys", at("k.json"), "--json"]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      valid: true,
      encrypted: true,
      signatureValid: true,
      policyAllowed: true,
    });
    const other = await run(["keygen"]);
    writeFileSync(at("other.json"), other.stdout);
    const bad = await run(["verify", at("e.ct"), "--keys", at("other.json"), "--json"]);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false });
    expect(bad.stderr).toMatch(/ERR_/);
  });
});
