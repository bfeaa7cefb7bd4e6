// The CLI contract of issue 3: keygen | encrypt | decrypt | verify | inspect, run as a user would
// (node dist/cli/main.js, built by `npm test` before vitest runs).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFile, saveFile } from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { CLI as cli, runCli } from "./run-cli.js";

const dir = tempDir("ct-cli-");
const at = (name: string) => join(dir, name);

const run = runCli;

describe("cryptotensors CLI", () => {
  it("is built", () => expect(existsSync(cli)).toBe(true));

  it("keygen → encrypt → decrypt reproduces the tensors exactly; verify and inspect work", async () => {
    const keygen = await run([
      "keygen",
      "--alg",
      "chacha20poly1305",
      "--enc-kid",
      "e1",
      "--sign-kid",
      "s1",
    ]);
    expect(keygen.status).toBe(0);
    const set = JSON.parse(keygen.stdout);
    expect(
      set.keys.map((k: { kty: string; kid: string; alg: string }) => [k.kty, k.kid, k.alg]),
    ).toEqual([
      ["oct", "e1", "chacha20poly1305"],
      ["okp", "s1", "ed25519"],
    ]);
    writeFileSync(at("k.json"), keygen.stdout);
    const tensors = { w: randomTensor(10_000, "F32"), b: randomTensor(6, "F16") };
    await saveFile(at("a.safetensors"), tensors, { metadata: { format: "pt" } });

    const enc = await run([
      "encrypt",
      at("a.safetensors"),
      at("b.ct"),
      "--keys",
      at("k.json"),
      "--chunk-size",
      "1000",
      "--tensor",
      "w",
    ]);
    expect(enc.stderr).toBe("");
    expect(enc.status).toBe(0);
    const dec = await run(["decrypt", at("b.ct"), at("c.safetensors"), "--keys", at("k.json")]);
    expect(dec.status).toBe(0);
    const back = await loadFile(at("c.safetensors"));
    for (const [name, t] of Object.entries(tensors))
      expect(Buffer.from(back[name]!.data)).toEqual(Buffer.from(t.data));
    expect(readFileSync(at("c.safetensors")).equals(readFileSync(at("a.safetensors")))).toBe(true);

    expect((await run(["verify", at("b.ct"), "--keys", at("k.json")])).status).toBe(0);
    const inspected = await run(["inspect", at("b.ct"), "--json"]);
    expect(inspected.status).toBe(0);
    const description = JSON.parse(inspected.stdout);
    expect(description.encryption).toMatchObject({
      version: "2",
      algorithm: "chacha20poly1305",
      chunkSize: 1000,
      encKeyId: "e1",
      signKeyId: "s1",
    });
    expect(description.tensors.find((t: { name: string }) => t.name === "w").encrypted).toBe(true);
    expect(description.tensors.find((t: { name: string }) => t.name === "b").encrypted).toBe(false);
    expect(inspected.stdout).not.toContain(set.keys[0].k);
    expect((await run(["inspect", at("b.ct")])).stdout).toContain("encrypted");
  });

  it("takes keys from CRYPTOTENSOR_KEYS when --keys is absent", async () => {
    const keys = (await run(["keygen"])).stdout;
    await saveFile(at("e.safetensors"), { x: randomTensor(40) });
    expect(
      (
        await run(["encrypt", at("e.safetensors"), at("e.ct"), "--format-version", "1"], {
          CRYPTOTENSOR_KEYS: keys,
        })
      ).status,
    ).toBe(0);
    expect((await run(["verify", at("e.ct")], { CRYPTOTENSOR_KEYS: keys })).status).toBe(0);
    const noKeys = await run(["verify", at("e.ct")]);
    expect(noKeys.status).toBe(1);
    expect(noKeys.stderr).toMatch(/ERR_KEY_NOT_FOUND/);
  });

  it("fails with one line on stderr, a non-zero status and no output file", async () => {
    const keys = (await run(["keygen"])).stdout;
    const other = (await run(["keygen"])).stdout;
    writeFileSync(at("k1.json"), keys);
    writeFileSync(at("k2.json"), other);
    await saveFile(at("f.safetensors"), { x: randomTensor(40) });
    expect(
      (await run(["encrypt", at("f.safetensors"), at("f.ct"), "--keys", at("k1.json")])).status,
    ).toBe(0);
    const wrong = await run(["decrypt", at("f.ct"), at("g.safetensors"), "--keys", at("k2.json")]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrong.stderr).not.toContain(JSON.parse(other).keys[0].k);
    expect(existsSync(at("g.safetensors"))).toBe(false);
    expect((await run(["verify", at("f.ct"), "--keys", at("k2.json")])).status).not.toBe(0);
    expect(
      (await run(["encrypt", at("missing"), at("h.ct"), "--keys", at("k1.json")])).status,
    ).toBe(1);
    expect(existsSync(at("h.ct"))).toBe(false);
    expect((await run(["encrypt", at("f.safetensors")])).status).toBe(2);
    expect(
      (
        await run([
          "encrypt",
          at("f.safetensors"),
          at("h.ct"),
          "--chunk-size",
          "0",
          "--keys",
          at("k1.json"),
        ])
      ).status,
    ).toBe(2);
    expect((await run(["frobnicate"])).status).toBe(2);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("verify and decrypt honour pinned verification keys (--verify-keys)", async () => {
    const keys = (await run(["keygen", "--sign-kid", "s"])).stdout;
    const stranger = JSON.parse((await run(["keygen", "--sign-kid", "s"])).stdout);
    writeFileSync(at("pin-keys.json"), keys);
    writeFileSync(
      at("pin-right.json"),
      JSON.stringify({ keys: [{ ...JSON.parse(keys).keys[1], d: undefined }] }),
    );
    writeFileSync(
      at("pin-wrong.json"),
      JSON.stringify({ keys: [{ ...stranger.keys[1], d: undefined }] }),
    );
    await saveFile(at("pin.safetensors"), { x: randomTensor(40) });
    expect(
      (await run(["encrypt", at("pin.safetensors"), at("pin.ct"), "--keys", at("pin-keys.json")]))
        .status,
    ).toBe(0);
    expect(
      (
        await run([
          "verify",
          at("pin.ct"),
          "--keys",
          at("pin-keys.json"),
          "--verify-keys",
          at("pin-right.json"),
        ])
      ).status,
    ).toBe(0);
    const refused = await run([
      "verify",
      at("pin.ct"),
      "--keys",
      at("pin-keys.json"),
      "--verify-keys",
      at("pin-wrong.json"),
    ]);
    expect(refused.status).toBe(1);
    expect(
      (
        await run([
          "decrypt",
          at("pin.ct"),
          at("pin.out"),
          "--keys",
          at("pin-keys.json"),
          "--verify-keys",
          at("pin-wrong.json"),
        ])
      ).status,
    ).toBe(1);
    expect(existsSync(at("pin.out"))).toBe(false);
  });
});
