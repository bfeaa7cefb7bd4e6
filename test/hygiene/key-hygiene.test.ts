// Key hygiene (issue 7): every error path is run with known key bytes, and no message, stack,
// cause, util.inspect output or JSON of what is thrown, nor the CLI's output, nor inspect of an
// open file, may contain them raw, in hex, base64 or base64url.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ed25519PublicKey } from "../../src/crypto/signature.js";
import type { CryptoTensorsError } from "../../src/errors.js";
import { parseJwk } from "../../src/keys/jwk.js";
import { keyRingFromEnv, parseKeySet } from "../../src/keys/keyring.js";
import { openFile, verifyFile } from "../../src/reader/open-file.js";
import { saveFile } from "../../src/writer/save-file.js";
import {
  editReserved,
  freshPath,
  rewrite,
  sampleTensors,
  scratchDir,
  type Crafted,
} from "../adversarial/craft.js";
import { COMPILED_ENV, compileLibrary } from "../concurrency/compiled.js";
import { runChild } from "../support/child.js";
import { findLeak, renderings, spellings } from "./leak-detector.js";

const MASTER = Buffer.from(
  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91",
  "hex",
);
const OTHER_MASTER = Buffer.from(
  "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f1",
  "hex",
);
const SEED = Buffer.from("5eedfacecafebeef0123456789abcdef5eedfacecafebeef0123456789abcdf0", "hex");
const SECRETS = [MASTER, OTHER_MASTER, SEED];

const encJwk = { kty: "oct", alg: "aes256gcm", kid: "enc-1", k: MASTER.toString("base64") };
const otherEncJwk = { ...encJwk, k: OTHER_MASTER.toString("base64") };
const signJwk = {
  kty: "okp",
  alg: "ed25519",
  kid: "sign-1",
  x: ed25519PublicKey(SEED).toString("base64"),
  d: SEED.toString("base64"),
};
const keySet = { keys: [encJwk, signJwk] };

const dir = scratchDir("ct-hygiene-");
let encrypted: Crafted;

beforeAll(async () => {
  const path = freshPath(dir, "known-keys");
  await saveFile(path, sampleTensors(), {
    encryption: { encKey: encJwk, signKey: signJwk, chunkSize: 8 },
  });
  encrypted = { path, bytes: readFileSync(path), keySet, signKey: signJwk };
});

/** Runs `work`, expects a throw, and asserts no rendering of the thrown value leaks a secret. */
async function expectCleanFailure(work: () => unknown, code?: string): Promise<void> {
  let thrown: unknown;
  let threw = false;
  try {
    await work();
  } catch (error) {
    thrown = error;
    threw = true;
  }
  expect(threw).toBe(true);
  if (code !== undefined) expect((thrown as CryptoTensorsError).code).toBe(code);
  expect(findLeak(renderings(thrown), SECRETS)).toBeNull();
}

describe("the leak detector", () => {
  it("finds each secret in each spelling, and in a thrown object's cause and inspect output", () => {
    for (const secret of SECRETS) {
      for (const spelling of spellings(secret))
        expect(findLeak([`x${spelling}y`], [secret])).not.toBeNull();
      const error = new Error("outer", { cause: { key: Buffer.from(secret) } });
      expect(findLeak(renderings(error), [secret])).not.toBeNull();
    }
  });
});

describe("error paths with known key bytes", () => {
  it.each([
    [
      "a master key of the wrong length",
      { ...encJwk, k: MASTER.subarray(0, 31).toString("base64") },
    ],
    [
      "a master key with one extra byte",
      { ...encJwk, k: Buffer.concat([MASTER, Buffer.of(1)]).toString("base64") },
    ],
    ["a master key with a stray character", { ...encJwk, k: `${MASTER.toString("base64")}!` }],
    ["a master key in hex", { ...encJwk, k: MASTER.toString("hex") }],
    ["an unknown alg", { ...encJwk, alg: "aes512gcm" }],
    ["a wrong kty", { ...encJwk, kty: "OCT?" }],
    [
      "a signing key whose x does not match d",
      { ...signJwk, x: ed25519PublicKey(MASTER).toString("base64") },
    ],
    ["a signing key with a short d", { ...signJwk, d: SEED.subarray(0, 20).toString("base64") }],
    [
      "a signing key with d in base64url and junk",
      { ...signJwk, d: `${SEED.toString("base64url")}==?` },
    ],
  ])("parseJwk / parseKeySet: %s", async (_what, jwk) => {
    await expectCleanFailure(() => parseJwk(jwk));
    await expectCleanFailure(() => parseKeySet({ keys: [signJwk, jwk] }));
  });

  it("CRYPTOTENSOR_KEYS holding broken JSON or a bad key", async () => {
    const text = JSON.stringify(keySet);
    for (const broken of [
      text.slice(0, -3),
      text.replace('"kty":"oct"', '"kty":"oct",'),
      JSON.stringify({ keys: [{ ...encJwk, alg: "nope" }] }),
    ]) {
      await expectCleanFailure(
        () => keyRingFromEnv({ CRYPTOTENSOR_KEYS: broken }),
        "ERR_KEY_INVALID",
      );
    }
  });

  it("openFile with the wrong master key (same kid), a missing key, and a wrong-length key", async () => {
    await expectCleanFailure(
      () => openFile(encrypted.path, { keys: { keys: [otherEncJwk, signJwk] } }),
      "ERR_DECRYPTION_FAILED",
    );
    await expectCleanFailure(() => openFile(encrypted.path, { keys: { keys: [signJwk] } }));
    await expectCleanFailure(() =>
      openFile(encrypted.path, {
        keys: {
          keys: [
            {
              ...otherEncJwk,
              alg: "aes128gcm",
              k: OTHER_MASTER.subarray(0, 16).toString("base64"),
            },
            signJwk,
          ],
        },
      }),
    );
  });

  it("tampered files: data, wrapped key, header without re-signing, header re-signed", async () => {
    for (const backend of ["native", "fallback"] as const) {
      const flipped = Buffer.from(encrypted.bytes);
      flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 0x40;
      const dataPath = freshPath(dir, "flipped");
      writeFileSync(dataPath, flipped);
      const file = await openFile(dataPath, { keys: keySet, backend });
      await expectCleanFailure(() => file.getTensor("weight"), "ERR_DECRYPTION_FAILED");
      // inspect of an open file never shows the master key (data keys: the test below).
      expect(
        findLeak(
          [
            inspect(file, { showHidden: true, depth: Infinity }),
            inspect(file, { customInspect: false, showHidden: true, depth: Infinity }),
            JSON.stringify(file),
          ],
          SECRETS,
        ),
      ).toBeNull();
      await file.close();
    }
    const wrapped = rewrite(dir, encrypted, (h) =>
      editReserved(h, "__encryption__", (enc) => {
        const key = Buffer.from(enc["weight"].wrapped_key, "base64");
        key[0] = (key[0] as number) ^ 1;
        enc["weight"].wrapped_key = key.toString("base64");
      }),
    );
    await expectCleanFailure(() => openFile(wrapped, { keys: keySet }), "ERR_DECRYPTION_FAILED");
    const unsigned = rewrite(dir, encrypted, (h) => void (h.__metadata__!["format"] = "np"), {
      resign: false,
    });
    await expectCleanFailure(() => openFile(unsigned, { keys: keySet }), "ERR_SIGNATURE_INVALID");
    await expectCleanFailure(() => verifyFile(unsigned, { keys: keySet }), "ERR_SIGNATURE_INVALID");
  });

  it("saveFile with bad keys", async () => {
    const out = freshPath(dir, "bad-save");
    await expectCleanFailure(() =>
      saveFile(out, sampleTensors(), {
        encryption: {
          encKey: { ...encJwk, k: MASTER.subarray(0, 30).toString("base64") },
          signKey: signJwk,
        },
      }),
    );
    await expectCleanFailure(() =>
      saveFile(out, sampleTensors(), { encryption: { encKey: signJwk, signKey: encJwk } }),
    );
    await expectCleanFailure(() =>
      saveFile(out, sampleTensors(), {
        encryption: { encKey: encJwk, signKey: { ...signJwk, x: encJwk.k } },
      }),
    );
  });

  it("open files never show their data keys in inspect or JSON", async () => {
    const file = await openFile(encrypted.path, { keys: keySet });
    // The data keys themselves are random: recover them by unwrapping with the known master key.
    const { parseEncryption } = await import("../../src/crypto/reserved.js");
    const { unwrapDataKey } = await import("../../src/crypto/envelope.js");
    const metadata = JSON.parse(
      readFileSync(encrypted.path)
        .subarray(8, 8 + Number(encrypted.bytes.readBigUInt64LE(0)))
        .toString("utf8"),
    ).__metadata__;
    const dataKeys = [...parseEncryption(metadata.__encryption__).values()].map((entry) =>
      unwrapDataKey("aes256gcm", MASTER, entry),
    );
    const texts = [
      inspect(file),
      inspect(file, { showHidden: true, depth: Infinity, getters: true }),
      inspect(file, { customInspect: false, showHidden: true, depth: Infinity }),
      JSON.stringify(file) ?? "",
    ];
    expect(findLeak(texts, [...SECRETS, ...dataKeys])).toBeNull();
    await file.close();
  });
});

describe("CLI failures with known keys", () => {
  let compiled: Awaited<ReturnType<typeof compileLibrary>>;
  beforeAll(async () => {
    compiled = await compileLibrary();
  }, 120_000);
  afterAll(() => compiled?.cleanup());

  async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
    const main = join(compiled.index, "..", "cli", "main.js");
    const base: NodeJS.ProcessEnv = { ...COMPILED_ENV };
    delete base["CRYPTOTENSOR_KEYS"];
    const result = await runChild(process.execPath, [main, ...args], { env: { ...base, ...env } });
    expect(result.status).not.toBe(0);
    return `${result.stdout}\n${result.stderr}`;
  }

  it("wrong keys, broken key files, broken CRYPTOTENSOR_KEYS, tampered input: no key in the output", async () => {
    const goodKeys = join(dir, "good.jwks");
    const wrongKeys = join(dir, "wrong.jwks");
    const brokenKeys = join(dir, "broken.jwks");
    const shortKeys = join(dir, "short.jwks");
    writeFileSync(goodKeys, JSON.stringify(keySet));
    writeFileSync(wrongKeys, JSON.stringify({ keys: [otherEncJwk, signJwk] }));
    writeFileSync(brokenKeys, JSON.stringify(keySet).slice(0, -5));
    writeFileSync(
      shortKeys,
      JSON.stringify({
        keys: [{ ...encJwk, k: MASTER.subarray(0, 31).toString("base64") }, signJwk],
      }),
    );
    const plain = freshPath(dir, "cli-plain");
    writeFileSync(plain, Buffer.alloc(0));
    const tampered = freshPath(dir, "cli-tampered");
    const bytes = Buffer.from(encrypted.bytes);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 1;
    writeFileSync(tampered, bytes);
    const out = join(dir, "cli-out.safetensors");
    const outputs = [
      await cli(["decrypt", encrypted.path, out, "--keys", wrongKeys]),
      await cli(["decrypt", encrypted.path, out, "--keys", brokenKeys]),
      await cli(["decrypt", encrypted.path, out, "--keys", shortKeys]),
      await cli(["decrypt", tampered, out, "--keys", goodKeys]),
      await cli(["verify", tampered.replace("tampered", "missing"), "--keys", goodKeys]),
      await cli(["encrypt", plain, out, "--keys", goodKeys]),
      await cli(["encrypt", encrypted.path, out, "--keys", shortKeys]),
      await cli(["decrypt", encrypted.path, out], {
        CRYPTOTENSOR_KEYS: JSON.stringify(keySet).slice(0, -2),
      }),
      await cli(["decrypt", encrypted.path, out], {
        CRYPTOTENSOR_KEYS: JSON.stringify({ keys: [otherEncJwk, signJwk] }),
      }),
    ];
    for (const output of outputs) expect(findLeak([output], SECRETS)).toBeNull();
    expect(outputs.join("\n")).toMatch(/ERR_DECRYPTION_FAILED/);
  });
});
