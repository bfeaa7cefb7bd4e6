// Issue 11, finding 11: `inspect` prints names and metadata of an unverified file; newlines and
// ANSI/OSC escapes in them must not fake lines or reach the terminal. Text and --json output,
// single files and model directories.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeySet, saveFile } from "../../src/index.js";
import { tempDir } from "../integration/helpers.js";
import { runCli } from "./run-cli.js";

const dir = tempDir("ct-inspect-esc-");
const FAKE = "\nencrypted: yes (signature OK)";
const OSC = "\u001b]0;owned\u0007\u001b[2J\u009b31m";
const hostileName = `w${FAKE}${OSC}`;
const hostileMeta = { [`k${FAKE}`]: `v${OSC}\u2028x` };

// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

function expectInert(stdout: string, tabsAllowed: boolean): void {
  expect(stdout).not.toMatch(RAW_CONTROL);
  if (!tabsAllowed) expect(stdout).not.toMatch(/\t/);
  // The fake line never starts a line of its own.
  expect(stdout.split("\n").some((line) => line.startsWith("encrypted: yes (signature"))).toBe(
    false,
  );
}

describe("inspect of a hostile file", () => {
  it("escapes tensor names, metadata keys and values in text and JSON output", async () => {
    const keys = generateKeySet({ encKid: `e${OSC}`, signKid: "s" });
    const path = join(dir, "hostile.safetensors");
    await saveFile(
      path,
      { [hostileName]: { dtype: "U8", shape: [2], data: new Uint8Array(2) } },
      { metadata: hostileMeta, encryption: { encKey: keys.keys[0], signKey: keys.keys[1] } },
    );
    const text = await runCli(["inspect", path]);
    expect(text.status).toBe(0);
    expectInert(text.stdout, true);
    expect(text.stdout).toContain("\\x1b]0;owned\\x07");
    expect(text.stdout).toContain("encrypted: yes (header not verified; use verify)");
    const json = await runCli(["inspect", path, "--json"]);
    expect(json.status).toBe(0);
    expectInert(json.stdout, false);
    const parsed = JSON.parse(json.stdout) as { tensors: Array<{ name: string }> };
    expect(parsed.tensors[0]?.name).toBe(hostileName);
  });

  it("escapes them for a model directory too", async () => {
    const model = join(dir, "model");
    mkdirSync(model);
    await saveFile(
      join(model, "model.safetensors"),
      { [hostileName]: { dtype: "U8", shape: [2], data: new Uint8Array(2) } },
      { metadata: hostileMeta },
    );
    const text = await runCli(["inspect", model]);
    expect(text.stderr).toBe("");
    expectInert(text.stdout, false);
    expectInert((await runCli(["inspect", model, "--json"])).stdout, false);
  });

  it("escapes untrusted names quoted in error messages", async () => {
    const path = join(dir, "plain.safetensors");
    await saveFile(path, { [hostileName]: { dtype: "U8", shape: [1], data: new Uint8Array(1) } });
    const result = await runCli(
      ["encrypt", path, join(dir, "x.ct"), "--tensor", `nope${OSC}`, "--quiet"],
      {
        CRYPTOTENSOR_KEYS: JSON.stringify(generateKeySet({})),
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).not.toMatch(RAW_CONTROL);
  });
});
