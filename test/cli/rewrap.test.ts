// cryptotensors rewrap, run as a user would (node dist/cli/main.js, built by `npm test`).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFile, saveFile } from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { runCli } from "./run-cli.js";
import { dataSection, sha256 } from "../keys/helpers.js";

const dir = tempDir("ct-cli-rewrap-");
const at = (name: string) => join(dir, name);

const run = runCli;

describe("cryptotensors rewrap", () => {
  it("rotates keys into OUT (or in place); the data section is unchanged; the old keys stop working", async () => {
    writeFileSync(
      at("old.json"),
      (await run(["keygen", "--enc-kid", "enc-1", "--sign-kid", "sign-1"])).stdout,
    );
    writeFileSync(
      at("new.json"),
      (await run(["keygen", "--enc-kid", "enc-2", "--sign-kid", "sign-2"])).stdout,
    );
    const w = randomTensor(20_000);
    await saveFile(at("plain.safetensors"), { w });
    expect(
      (
        await run([
          "encrypt",
          at("plain.safetensors"),
          at("m.ct"),
          "--keys",
          at("old.json"),
          "--quiet",
        ])
      ).status,
    ).toBe(0);
    const before = sha256(dataSection(at("m.ct")));
    const original = readFileSync(at("m.ct"));

    const copy = await run([
      "rewrap",
      at("m.ct"),
      at("m2.ct"),
      "--keys",
      at("old.json"),
      "--new-keys",
      at("new.json"),
    ]);
    expect(copy.stderr).toBe("");
    expect(copy.status).toBe(0);
    expect(copy.stdout).toMatch(/1 data key\(s\) re-wrapped.*\(clone, header \d+ -> \d+ bytes\)/);
    expect(readFileSync(at("m.ct")).equals(original)).toBe(true);
    expect(sha256(dataSection(at("m2.ct")))).toBe(before);
    const newKeys = JSON.parse(readFileSync(at("new.json"), "utf8"));
    expect(
      Buffer.from((await loadFile(at("m2.ct"), { keys: newKeys }))["w"]!.data).equals(
        Buffer.from(w.data),
      ),
    ).toBe(true);
    expect((await run(["verify", at("m2.ct"), "--keys", at("old.json")])).status).toBe(1);
    expect((await run(["verify", at("m2.ct"), "--keys", at("new.json")])).status).toBe(0);

    const inPlace = await run(["rewrap", at("m.ct"), at("m.ct"), "--new-keys", at("new.json")], {
      CRYPTOTENSOR_KEYS: readFileSync(at("old.json"), "utf8"),
    });
    expect(inPlace.status).toBe(0);
    expect(inPlace.stdout).toMatch(/in-place/);
    expect(sha256(dataSection(at("m.ct")))).toBe(before);
    expect(
      (
        await run([
          "decrypt",
          at("m.ct"),
          at("back.safetensors"),
          "--keys",
          at("new.json"),
          "--quiet",
        ])
      ).status,
    ).toBe(0);
    expect(readFileSync(at("back.safetensors")).equals(readFileSync(at("plain.safetensors")))).toBe(
      true,
    );
    expect((await run(["rewrap", "--recover", at("m.ct")])).stdout).toMatch(
      /no interrupted rewrap/,
    );
  });

  it("replaces the policy from --policy; refuses wrong old keys, bad usage and leaves no file", async () => {
    writeFileSync(at("k.json"), (await run(["keygen"])).stdout);
    writeFileSync(at("other.json"), (await run(["keygen"])).stdout);
    await saveFile(at("p.safetensors"), { x: randomTensor(64) });
    expect(
      (await run(["encrypt", at("p.safetensors"), at("p.ct"), "--keys", at("k.json"), "--quiet"]))
        .status,
    ).toBe(0);
    writeFileSync(at("deny.json"), JSON.stringify({ local: "package model\n\nallow := false\n" }));
    expect(
      (
        await run([
          "rewrap",
          at("p.ct"),
          at("p-deny.ct"),
          "--keys",
          at("k.json"),
          "--policy",
          at("deny.json"),
        ])
      ).status,
    ).toBe(0);
    const denied = await run(["verify", at("p-deny.ct"), "--keys", at("k.json")]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/ERR_POLICY_DENIED/);

    const wrong = await run([
      "rewrap",
      at("p.ct"),
      at("q.ct"),
      "--keys",
      at("other.json"),
      "--new-keys",
      at("other.json"),
    ]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/ERR_SIGNATURE_INVALID/);
    expect(wrong.stderr).not.toContain(
      JSON.parse(readFileSync(at("other.json"), "utf8")).keys[0].k,
    );
    expect(existsSync(at("q.ct"))).toBe(false);
    // A pinned verification key that is not the file's signer refuses the rewrap.
    const otherSet = JSON.parse(readFileSync(at("other.json"), "utf8"));
    writeFileSync(
      at("pin.json"),
      JSON.stringify({ keys: [{ ...otherSet.keys[1], d: undefined }] }),
    );
    const pinned = await run([
      "rewrap",
      at("p.ct"),
      at("q.ct"),
      "--keys",
      at("k.json"),
      "--new-keys",
      at("other.json"),
      "--verify-keys",
      at("pin.json"),
    ]);
    expect(pinned.status).toBe(1);
    expect(pinned.stderr).toMatch(/ERR_SIGNATURE_INVALID|ERR_KEY_UNTRUSTED/);
    expect(existsSync(at("q.ct"))).toBe(false);
    expect((await run(["rewrap", at("p.ct"), at("q.ct"), "--keys", at("k.json")])).status).toBe(2);
    expect((await run(["rewrap", at("p.ct"), "--new-keys", at("k.json")])).status).toBe(2);
  });
});
