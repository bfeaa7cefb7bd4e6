// Issue 11, finding 12: `verify` checked the header only, so a flipped ciphertext byte still
// "verified". verifyFile({ data: true }) / `verify --data` authenticate every tensor with the
// master key (AEAD tags; signed digests of plaintext tensors) and write no plaintext anywhere.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, saveFile, verifyFile } from "../../src/index.js";
import { generateKeySet } from "../../src/keys/keyring.js";
import { runCli } from "../cli/run-cli.js";
import { encryptedFile, freshPath, sampleTensors, scratchDir } from "./craft.js";

const dir = scratchDir("ct-verify-data-");
const BACKENDS = ["native", "fallback"] as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CryptoTensorsError ? error.code : (error as Error).name;
  }
  return "resolved";
}

/** Flips one byte of tensor `name`'s stored bytes; returns the new file's path. */
function flipByte(path: string, name: string, offset = 1): string {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  const at = 8 + n + header[name].data_offsets[0] + offset;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  const out = freshPath(dir, "flipped");
  writeFileSync(out, bytes);
  return out;
}

function keysFile(keys: unknown): string {
  const path = freshPath(dir, "keys");
  writeFileSync(path, JSON.stringify(keys));
  return path;
}

describe.each(BACKENDS)("verifyFile({ data: true }) on the %s backend", (backend) => {
  it.each(["1", "2"] as const)(
    "v%s: a flipped ciphertext byte fails data verification",
    async (version) => {
      const file = await encryptedFile(dir, { version });
      const ok = await verifyFile(file.path, { keys: file.keySet, backend, data: true });
      expect(ok.data).toMatchObject({
        tensorsAuthenticated: 2,
        unauthenticated: [],
        bytesChecked: 52,
      });
      const flipped = flipByte(file.path, "weight", 33);
      // The header-only check cannot see it (by design: no master key needed) …
      expect(await codeOf(verifyFile(flipped, { keys: file.keySet, backend }))).toBe("resolved");
      // … the data check does.
      expect(await codeOf(verifyFile(flipped, { keys: file.keySet, backend, data: true }))).toBe(
        "ERR_DECRYPTION_FAILED",
      );
    },
  );

  it("checks plaintext tensors against their signed digests", async () => {
    const keys = generateKeySet({});
    const path = freshPath(dir, "partial");
    await saveFile(path, sampleTensors(), {
      encryption: { encKey: keys.keys[0], signKey: keys.keys[1], tensors: ["weight"] },
    });
    await verifyFile(path, { keys, backend, data: true });
    const flipped = flipByte(path, "bias");
    expect(await codeOf(verifyFile(flipped, { keys, backend, data: true }))).toBe(
      "ERR_TENSOR_UNAUTHENTICATED",
    );
  });
});

describe("cryptotensors verify --data", () => {
  it("exits 1 on a flipped ciphertext byte (exit 0 without --data), writes nothing", async () => {
    const file = await encryptedFile(dir);
    const keys = keysFile(file.keySet);
    const good = await runCli(["verify", file.path, "--keys", keys, "--data"]);
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/data authenticated \(2 tensor\(s\), 52 B\)/);
    const flipped = flipByte(file.path, "weight", 5);
    const before = readdirSync(dir).length;
    expect((await runCli(["verify", flipped, "--keys", keys])).status).toBe(0);
    const bad = await runCli(["verify", flipped, "--keys", keys, "--data"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ERR_DECRYPTION_FAILED/);
    expect(readdirSync(dir).length).toBe(before);
  });
});
