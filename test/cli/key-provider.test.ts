// `--key-provider` on the CLI (issue 17), against a private SoftHSM2: keygen creates the keys in
// the token, encrypt signs and wraps with them, decrypt opens with the token and nothing else,
// rewrap --reencrypt moves the file to a new token key; file: providers; kmip:// is refused.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateKeys, saveFile } from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { initToken, privateSoftHsm } from "../keys/pkcs11/softhsm.js";
import { runCli } from "./run-cli.js";

const dir = tempDir("ct-cli-hsm-");
let uri: string;
let env: NodeJS.ProcessEnv;
const plain = join(dir, "plain.safetensors");
const weight = randomTensor(50_000, "U8");

beforeAll(async () => {
  const hsm = privateSoftHsm();
  uri = initToken(hsm, "cli").uri;
  env = { SOFTHSM2_CONF: process.env["SOFTHSM2_CONF"] };
  await saveFile(plain, { weight, bias: randomTensor(16, "U8") }, { metadata: { format: "pt" } });
});

async function run(args: string[]) {
  return await runCli(args, env);
}

describe("cryptotensors --key-provider", () => {
  it("keygen in the token, encrypt with it, decrypt with it and with nothing else", async () => {
    const keygen = await run([
      "keygen",
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-1",
      "--sign-kid",
      "sign-1",
    ]);
    expect(keygen.status, keygen.stderr).toBe(0);
    const pub = JSON.parse(keygen.stdout);
    expect(pub.keys).toHaveLength(1);
    expect(pub.keys[0]).toMatchObject({ kty: "okp", alg: "ed25519", kid: "sign-1" });
    expect(pub.keys[0].d).toBeUndefined();
    const pubFile = join(dir, "pub.jwks");
    writeFileSync(pubFile, keygen.stdout);

    const sealed = join(dir, "hsm.ct");
    const encrypt = await run([
      "encrypt",
      plain,
      sealed,
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-1",
      "--sign-kid",
      "sign-1",
      "--quiet",
    ]);
    expect(encrypt.status, encrypt.stderr).toBe(0);
    const back = join(dir, "back.safetensors");
    const decrypt = await run([
      "decrypt",
      sealed,
      back,
      "--key-provider",
      uri,
      "--verify-keys",
      pubFile,
    ]);
    expect(decrypt.status, decrypt.stderr).toBe(0);
    expect(readFileSync(back).equals(readFileSync(plain))).toBe(true);
    const verify = await run(["verify", sealed, "--key-provider", uri]);
    expect(verify.status, verify.stderr).toBe(0);

    const without = await run([
      "decrypt",
      sealed,
      join(dir, "no.safetensors"),
      "--verify-keys",
      pubFile,
    ]);
    expect(without.status).toBe(1);
    expect(without.stderr).toContain("ERR_KEY_NOT_FOUND");
    const wrongPin = uri.replace(/&pin-source=[^&]*/, "&pin-value=wrong-pin-1234");
    expect(wrongPin).not.toBe(uri);
    const denied = await run([
      "decrypt",
      sealed,
      join(dir, "no.safetensors"),
      "--key-provider",
      wrongPin,
      "--verify-keys",
      pubFile,
    ]);
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain("ERR_KEY_PROVIDER");
    expect(denied.stderr).toContain("CKR_PIN_INCORRECT");
    expect(denied.stderr).not.toContain("wrong-pin-1234");
  });

  it("rewrap --reencrypt moves the file to a new token key (plain rewrap under a held key is refused)", async () => {
    const sealed = join(dir, "rotate.ct");
    expect(
      (
        await run([
          "encrypt",
          plain,
          sealed,
          "--key-provider",
          uri,
          "--enc-kid",
          "enc-1",
          "--sign-kid",
          "sign-1",
        ])
      ).status,
    ).toBe(0);
    const keygen = await run([
      "keygen",
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-2",
      "--sign-kid",
      "sign-2",
    ]);
    expect(keygen.status, keygen.stderr).toBe(0);
    const pub2 = join(dir, "pub2.jwks");
    writeFileSync(pub2, keygen.stdout);
    const rotated = join(dir, "rotated.ct");
    const plainRewrap = await run([
      "rewrap",
      sealed,
      rotated,
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-2",
    ]);
    expect(plainRewrap.status).toBe(1);
    expect(plainRewrap.stderr).toContain("--reencrypt");
    const rewrap = await run([
      "rewrap",
      sealed,
      rotated,
      "--reencrypt",
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-2",
      "--sign-kid",
      "sign-2",
    ]);
    expect(rewrap.status, rewrap.stderr).toBe(0);
    expect(rewrap.stdout).toContain("2 tensor(s) re-encrypted");
    const back = join(dir, "rotated.safetensors");
    expect(
      (await run(["decrypt", rotated, back, "--key-provider", uri, "--verify-keys", pub2])).status,
    ).toBe(0);
    expect(readFileSync(back).equals(readFileSync(plain))).toBe(true);
  });

  it("file: providers serve a JWK set; an unreachable kmip:// server and unknown schemes are refused", async () => {
    const keys = generateKeys({ encKid: "enc-f", signKid: "sign-f" });
    const keyFile = join(dir, "keys.jwks");
    writeFileSync(keyFile, JSON.stringify(keys));
    const sealed = join(dir, "file.ct");
    const encrypt = await run(["encrypt", plain, sealed, "--keys", keyFile]);
    expect(encrypt.status, encrypt.stderr).toBe(0);
    const back = join(dir, "file.safetensors");
    const decrypt = await run(["decrypt", sealed, back, "--key-provider", `file:${keyFile}`]);
    expect(decrypt.status, decrypt.stderr).toBe(0);
    const kmip = await run(["decrypt", sealed, back, "--key-provider", "kmip://127.0.0.1:5696"]);
    expect(kmip.status).toBe(1);
    expect(kmip.stderr).toContain("cert=PATH");
    const other = await run(["decrypt", sealed, back, "--key-provider", "vault://x"]);
    expect(other.status).toBe(2);
  });
});
