// Issue 11, finding 5: defaults that used to fail open. Each case is refused now, on both
// backends, through the API and the CLI where both apply.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  generateKeySet,
  loadFile,
  openFile,
  saveFile,
  verifyFile,
} from "../../src/index.js";
import { runCli } from "../cli/run-cli.js";
import { encryptedFile, freshPath, rewrite, sampleTensors, scratchDir } from "./craft.js";

const dir = scratchDir("ct-failopen-");
const BACKENDS = ["native", "fallback"] as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CryptoTensorsError ? error.code : (error as Error).name;
  }
  return "resolved";
}

/** The file with every reserved entry removed: a "stripped" copy whose data is still ciphertext. */
function stripped(file: Awaited<ReturnType<typeof encryptedFile>>): string {
  return rewrite(
    dir,
    file,
    (h) => {
      h.__metadata__ = { format: "pt" };
    },
    { resign: false },
  );
}

describe.each(BACKENDS)("pinned verifyKeys on the %s backend", (backend) => {
  it("imply requireSignature: a stripped file is refused, not returned as ciphertext", async () => {
    const file = await encryptedFile(dir);
    const { d: _private, ...publicSign } = file.signKey;
    const path = stripped(file);
    expect(await codeOf(loadFile(path, { keys: file.keySet, backend }))).toBe("resolved");
    expect(
      await codeOf(loadFile(path, { keys: file.keySet, verifyKeys: [publicSign], backend })),
    ).toBe("ERR_MISSING_SIGNATURE");
  });
});

const keysFile = (keys: unknown): string => {
  const path = freshPath(dir, "keys");
  writeFileSync(path, JSON.stringify(keys));
  return path;
};

/** A partially encrypted file: "weight" encrypted, "bias" (3 floats) in plaintext. */
async function partial(): Promise<{ path: string; keySet: { keys: Record<string, string>[] } }> {
  const keySet = generateKeySet({ encKid: "enc-1", signKid: "sign-1" });
  const path = freshPath(dir, "partial");
  await saveFile(path, sampleTensors(), {
    encryption: { encKey: keySet.keys[0], signKey: keySet.keys[1], tensors: ["weight"] },
  });
  return { path, keySet: { keys: [...keySet.keys] } };
}

/** Flips one byte of the plaintext tensor "bias" in place. */
function tamperBias(path: string): void {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  const at = 8 + n + header.bias.data_offsets[0] + 2;
  bytes[at] = (bytes[at] as number) ^ 0x40;
  writeFileSync(path, bytes);
}

describe("encryption filters (finding 5a)", () => {
  it("API: a filter naming a missing tensor, or selecting nothing, is refused and writes nothing", async () => {
    const keySet = generateKeySet({});
    const out = freshPath(dir, "typo");
    const encryption = { encKey: keySet.keys[0], signKey: keySet.keys[1] };
    expect(
      await codeOf(
        saveFile(out, sampleTensors(), { encryption: { ...encryption, tensors: ["wieght"] } }),
      ),
    ).toBe("ERR_TENSOR_NOT_FOUND");
    expect(
      await codeOf(saveFile(out, sampleTensors(), { encryption: { ...encryption, tensors: [] } })),
    ).toBe("ERR_NOTHING_TO_ENCRYPT");
    expect(await codeOf(saveFile(out, {}, { encryption }))).toBe("ERR_NOTHING_TO_ENCRYPT");
    expect(existsSync(out)).toBe(false);
  });

  it("CLI: encrypt --tensor TYPO exits 1 and writes no output", async () => {
    const plain = freshPath(dir, "plain");
    await saveFile(plain, sampleTensors());
    const keys = keysFile(generateKeySet({}));
    const out = freshPath(dir, "typo-cli");
    const result = await runCli([
      "encrypt",
      plain,
      out,
      "--keys",
      keys,
      "--tensor",
      "wieght",
      "--quiet",
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/ERR_TENSOR_NOT_FOUND/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("policy files (finding 5b)", () => {
  it.each([
    ['{"Local": "package model\\nallow = false"}', /unknown member/],
    ['{"keys": []}', /unknown member/],
    ["{}", /names no policy/],
  ])(
    "CLI: --policy %s is refused, never replaced by the allow-all default",
    async (text, message) => {
      const plain = freshPath(dir, "plain");
      await saveFile(plain, sampleTensors());
      const policy = freshPath(dir, "policy");
      writeFileSync(policy, text);
      const out = freshPath(dir, "policy-out");
      const result = await runCli([
        "encrypt",
        plain,
        out,
        "--keys",
        keysFile(generateKeySet({})),
        "--policy",
        policy,
        "--quiet",
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/ERR_POLICY_INVALID/);
      expect(result.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    },
  );
});

describe("decrypt of a plain file (finding 5c)", () => {
  it("CLI: refused unless --allow-plain, also with --verify-keys", async () => {
    const file = await encryptedFile(dir);
    const path = stripped(file);
    const keys = keysFile(file.keySet);
    const out = freshPath(dir, "out");
    const refused = await runCli(["decrypt", path, out, "--keys", keys, "--quiet"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ERR_NOT_ENCRYPTED/);
    expect(existsSync(out)).toBe(false);
    const { d: _private, ...publicSign } = file.signKey;
    const pinned = await runCli([
      "decrypt",
      path,
      out,
      "--keys",
      keys,
      "--verify-keys",
      keysFile({ keys: [publicSign] }),
      "--quiet",
    ]);
    expect(pinned.status).toBe(1);
    expect(existsSync(out)).toBe(false);
    const allowed = await runCli(["decrypt", path, out, "--allow-plain", "--quiet"]);
    expect(allowed.stderr).toBe("");
    expect(allowed.status).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});

describe.each(BACKENDS)(
  "plaintext tensors of a partially encrypted file on the %s backend (finding 5e)",
  (backend) => {
    it("are authenticated by signed digests: a changed byte is refused by every read", async () => {
      const { path, keySet } = await partial();
      const good = await loadFile(path, { keys: keySet, backend, requireAuthenticated: true });
      expect(Array.from(new Float32Array(good.bias!.data.slice().buffer))).toEqual([1, 2, 3]);
      tamperBias(path);
      expect(await codeOf(loadFile(path, { keys: keySet, backend }))).toBe(
        "ERR_TENSOR_UNAUTHENTICATED",
      );
      const file = await openFile(path, { keys: keySet, backend });
      try {
        expect(await codeOf(file.getTensor("bias"))).toBe("ERR_TENSOR_UNAUTHENTICATED");
        expect(await codeOf(file.getSlice("bias", [[0, 1]]))).toBe("ERR_TENSOR_UNAUTHENTICATED");
        expect(await codeOf(file.readRange("bias", 0, 4, new Uint8Array(4)))).toBe(
          "ERR_TENSOR_UNAUTHENTICATED",
        );
        expect((await file.getTensor("weight")).data.length).toBe(40);
      } finally {
        await file.close();
      }
    });

    it("without digests (reference-written) they are refused under requireAuthenticated", async () => {
      const { path, keySet } = await partial();
      // What the reference writes: the same file without __plaintext_sha256__, re-signed.
      const signKey = keySet.keys[1] as Record<string, string>;
      const bare = rewrite(dir, { path, bytes: readFileSync(path), keySet, signKey }, (h) => {
        delete h.__metadata__!.__plaintext_sha256__;
      });
      expect(await codeOf(loadFile(bare, { keys: keySet, backend }))).toBe("resolved");
      expect(
        await codeOf(loadFile(bare, { keys: keySet, backend, requireAuthenticated: true })),
      ).toBe("ERR_TENSOR_UNAUTHENTICATED");
      expect(
        await codeOf(verifyFile(bare, { keys: keySet, backend, requireAuthenticated: true })),
      ).toBe("ERR_TENSOR_UNAUTHENTICATED");
    });
  },
);

describe("plaintext tensors in the CLI (finding 5e)", () => {
  it("decrypt and verify refuse unauthenticated plaintext tensors by default", async () => {
    const { path, keySet } = await partial();
    const signKey = keySet.keys[1] as Record<string, string>;
    const bare = rewrite(dir, { path, bytes: readFileSync(path), keySet, signKey }, (h) => {
      delete h.__metadata__!.__plaintext_sha256__;
    });
    const keys = keysFile(keySet);
    const out = freshPath(dir, "out");
    const decrypt = await runCli(["decrypt", bare, out, "--keys", keys, "--quiet"]);
    expect(decrypt.status).toBe(1);
    expect(decrypt.stderr).toMatch(/ERR_TENSOR_UNAUTHENTICATED/);
    expect(existsSync(out)).toBe(false);
    expect((await runCli(["verify", bare, "--keys", keys])).status).toBe(1);
    expect((await runCli(["verify", bare, "--keys", keys, "--allow-unauthenticated"])).status).toBe(
      0,
    );
    expect(
      (await runCli(["decrypt", bare, out, "--keys", keys, "--allow-unauthenticated", "--quiet"]))
        .status,
    ).toBe(0);
    // Our own partially encrypted files pass by default; once tampered, decrypt refuses them.
    expect((await runCli(["verify", path, "--keys", keys])).status).toBe(0);
    tamperBias(path);
    const out2 = freshPath(dir, "out");
    const tampered = await runCli(["decrypt", path, out2, "--keys", keys, "--quiet"]);
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toMatch(/ERR_TENSOR_UNAUTHENTICATED/);
    expect(existsSync(out2)).toBe(false);
  });
});
