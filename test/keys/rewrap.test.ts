// rewrapFile on our own files: every method (in place, clone, copy), data bytes unchanged, old
// keys refused afterwards, the algorithm kept, the policy updated per side, torn-write recovery.
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  generateKeys,
  loadFile,
  parseJwk,
  type SigningKey,
  openFile,
  recoverRewrap,
  rewrapFile,
  verifyFile,
} from "../../src/index.js";
import { journalBytes, journalPath } from "../../src/rewrap/journal.js";
import { tempDir } from "../integration/helpers.js";
import {
  dataSection,
  keySet,
  publicOf,
  rejectsWith,
  saveModel,
  sha256,
  type Jwks,
} from "./helpers.js";

const dir = tempDir("ct-rewrap-");
const at = (name: string) => join(dir, name);

/** The journal an in-place rewrap of `path` (as it is now) to `newKeys` would have written. */
function signedJournal(path: string, oldRegion: Buffer, newRegion: Buffer, newKeys: Jwks): Buffer {
  const info = statSync(path, { bigint: true });
  const signKey = parseJwk(newKeys.keys[1]) as SigningKey;
  const binding = { offset: 8, fileSize: Number(info.size), dev: info.dev, ino: info.ino };
  return journalBytes(binding, oldRegion, newRegion, signKey);
}

describe("rewrapFile", () => {
  it.each([["1"], ["2"]] as const)(
    "v%s: rewraps in place; data unchanged; new keys load; old keys fail",
    async (version) => {
      const path = at(`inplace-v${version}.ct`);
      const oldKeys = keySet("a");
      // Same kid lengths: the new header fits the old space exactly.
      const newKeys = keySet("b");
      const tensors = await saveModel(path, oldKeys, {
        version,
        ...(version === "2" ? { chunkSize: 1000 } : {}),
      });
      const before = dataSection(path);
      const result = await rewrapFile(path, {
        oldKeys,
        newEncKey: newKeys.keys[0],
        newSignKey: newKeys.keys[1],
      });
      expect(result).toMatchObject({ output: path, method: "in-place", rewrapped: 3 });
      expect(result.headerLength).toBe(result.previousHeaderLength);
      expect(sha256(dataSection(path))).toBe(sha256(before));
      expect(existsSync(join(dir, `.inplace-v${version}.ct.rewrap-journal`))).toBe(false);

      const loaded = await loadFile(path, { keys: newKeys });
      for (const [name, t] of Object.entries(tensors))
        expect(Buffer.from(loaded[name]!.data).equals(Buffer.from(t.data))).toBe(true);
      const file = await openFile(path, { keys: newKeys });
      expect(file.metadata()).toMatchObject({ format: "pt", note: "rewrap me" });
      await file.close();
      await rejectsWith(loadFile(path, { keys: oldKeys }), "ERR_KEY_NOT_FOUND");
      // Old master key under the new kid: the wrapped keys no longer open with it.
      const oldUnderNewKid = { keys: [{ ...oldKeys.keys[0], kid: "enc-b" }, newKeys.keys[1]] };
      await rejectsWith(loadFile(path, { keys: oldUnderNewKid }), "ERR_DECRYPTION_FAILED");
    },
  );

  it("keeps IVs, tags, version and chunk size; draws a fresh key_iv for every data key", async () => {
    const path = at("fields.ct");
    const oldKeys = keySet("a");
    const newKeys = keySet("c");
    await saveModel(path, oldKeys, { chunkSize: 4096 });
    const reserved = (p: string) => {
      const text = readFileSync(p)
        .subarray(8, 8 + Number(readFileSync(p).readBigUInt64LE(0)))
        .toString("utf8");
      const meta = JSON.parse(text).__metadata__;
      return { keys: JSON.parse(meta.__crypto_keys__), enc: JSON.parse(meta.__encryption__) };
    };
    const before = reserved(path);
    await rewrapFile(path, { oldKeys, newEncKey: newKeys.keys[0], newSignKey: newKeys.keys[1] });
    const after = reserved(path);
    expect(after.keys).toEqual({
      ...before.keys,
      enc: { alg: "aes256gcm", kid: "enc-c", kty: "oct" },
      sign: { alg: "ed25519", kid: "sign-c", kty: "okp" },
    });
    for (const name of Object.keys(before.enc)) {
      expect(after.enc[name].base_iv).toBe(before.enc[name].base_iv);
      expect(after.enc[name].tags).toBe(before.enc[name].tags);
      expect(after.enc[name].key_iv).not.toBe(before.enc[name].key_iv);
      expect(after.enc[name].wrapped_key).not.toBe(before.enc[name].wrapped_key);
    }
  });

  it("writes to another path by cloning and patching the header; the source is untouched", async () => {
    const path = at("clone-src.ct");
    const oldKeys = keySet("a");
    const newKeys = keySet("d");
    await saveModel(path, oldKeys);
    const original = readFileSync(path);
    const out = at("clone-out.ct");
    const result = await rewrapFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
      output: out,
    });
    expect(result.method).toBe("clone");
    expect(readFileSync(path).equals(original)).toBe(true);
    expect(sha256(dataSection(out))).toBe(sha256(dataSection(path)));
    await loadFile(out, { keys: newKeys });
  });

  it("a header that grows (longer kids, a bigger policy) is written through a temporary file; N changes, data bytes do not", async () => {
    const path = at("grow.ct");
    const oldKeys = keySet("a");
    const newKeys = generateKeys({
      encKid: "enc-a-much-longer-key-identifier-for-rotation",
      signKid: "sign-a-much-longer-key-identifier",
    });
    await saveModel(path, oldKeys);
    const before = dataSection(path);
    const policy = { local: "package model\n\ndefault allow := false\n\nallow if { true }\n" };
    const result = await rewrapFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
      policy,
    });
    expect(result.method).toBe("copy");
    expect(result.headerLength).toBeGreaterThan(result.previousHeaderLength);
    expect(sha256(dataSection(path))).toBe(sha256(before));
    await loadFile(path, { keys: newKeys });
  });

  it("rotates only the signing key (the master key and wrapped keys stay), or only the policy", async () => {
    const path = at("sign-only.ct");
    const oldKeys = keySet("a");
    const newKeys = keySet("e");
    await saveModel(path, oldKeys);
    const result = await rewrapFile(path, { oldKeys, newSignKey: newKeys.keys[1] });
    expect(result.rewrapped).toBe(0);
    await loadFile(path, { keys: [oldKeys.keys[0], newKeys.keys[1]] });
    await rejectsWith(verifyFile(path, { verifyKeys: [publicOf(oldKeys)] }), "ERR_KEY_UNTRUSTED");

    // Policy only: the signing key comes from oldKeys (here: the rotated one).
    const keysNow = { keys: [oldKeys.keys[0], newKeys.keys[1]] };
    await rewrapFile(path, {
      oldKeys: keysNow,
      policy: { remote: "package model\nallow = false" },
    });
    const file = await openFile(path, { keys: keysNow });
    await file.close();
  });

  it("keeps the other policy side when only one is given (the reference resets it)", async () => {
    const path = at("policy.ct");
    const keys = keySet("a");
    const local = "package model\n\nallow if { true }\n";
    await saveModel(path, keys, { policy: { local } });
    await rewrapFile(path, { oldKeys: keys, policy: { remote: "package model\nallow = false" } });
    const text = readFileSync(path)
      .subarray(8, 8 + Number(readFileSync(path).readBigUInt64LE(0)))
      .toString("utf8");
    expect(JSON.parse(JSON.parse(text).__metadata__.__policy__)).toEqual({
      local,
      remote: "package model\nallow = false",
    });
  });

  it("refuses a new master key of another algorithm, wrong old keys, a plain file, and nothing to change", async () => {
    const path = at("refuse.ct");
    const keys = keySet("a");
    await saveModel(path, keys);
    const original = readFileSync(path);
    const chacha = keySet("z", "chacha20poly1305");
    await rejectsWith(
      rewrapFile(path, { oldKeys: keys, newEncKey: chacha.keys[0], newSignKey: chacha.keys[1] }),
      "ERR_INVALID_ALGORITHM",
    );
    const stranger = keySet("a");
    await rejectsWith(
      rewrapFile(path, { oldKeys: stranger, newEncKey: chacha.keys[0] }),
      "ERR_SIGNATURE_INVALID",
    );
    await rejectsWith(
      rewrapFile(path, {
        oldKeys: { keys: [stranger.keys[0], keys.keys[1]] },
        newEncKey: stranger.keys[0],
      }),
      "ERR_DECRYPTION_FAILED",
    );
    expect(readFileSync(path).equals(original)).toBe(true);
    await expect(rewrapFile(path, { oldKeys: keys })).rejects.toThrow(TypeError);
    const plain = at("plain.safetensors");
    writeFileSync(plain, readFileSync(path).subarray(0, 0));
    const { saveFile } = await import("../../src/index.js");
    await saveFile(plain, { x: { dtype: "U8", shape: [1], data: new Uint8Array([1]) } });
    await rejectsWith(
      rewrapFile(plain, { oldKeys: keys, newEncKey: keys.keys[0] }),
      "ERR_NOT_ENCRYPTED",
    );
    // Without a private signing key anywhere, nothing is written.
    await rejectsWith(
      rewrapFile(path, {
        oldKeys: { keys: [keys.keys[0], publicOf(keys)] },
        newEncKey: keySet("q").keys[0],
      }),
      "ERR_KEY_NOT_FOUND",
    );
    expect(readFileSync(path).equals(original)).toBe(true);
  });
});

describe("torn-write guard", () => {
  it("refuses to start while a journal exists, and recoverRewrap rolls a torn header back", async () => {
    const path = at("torn.ct");
    const oldKeys = keySet("a");
    const newKeys = keySet("f");
    await saveModel(path, oldKeys);
    const original = readFileSync(path);
    const rewrapped = at("torn-new.ct");
    await rewrapFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
      output: rewrapped,
    });
    const n = Number(original.readBigUInt64LE(0));
    const oldRegion = original.subarray(8, 8 + n);
    const newRegion = readFileSync(rewrapped).subarray(8, 8 + n);
    expect(newRegion.equals(oldRegion)).toBe(false);

    // A crash half way through the header write: the journal is complete, the file is torn.
    const torn = Buffer.from(original);
    newRegion.subarray(0, n >> 1).copy(torn, 8);
    writeFileSync(path, torn);
    writeFileSync(journalPath(path), signedJournal(path, oldRegion, newRegion, newKeys));
    // The torn header is refused (never half-trusted) by loads and by another rewrap alike.
    await expect(loadFile(path, { keys: oldKeys })).rejects.toBeInstanceOf(CryptoTensorsError);
    await expect(loadFile(path, { keys: newKeys })).rejects.toBeInstanceOf(CryptoTensorsError);
    await expect(
      rewrapFile(path, { oldKeys, newEncKey: newKeys.keys[0], newSignKey: newKeys.keys[1] }),
    ).rejects.toBeInstanceOf(CryptoTensorsError);

    // Recovery checks the journal's signature under the new keys' trust, like a load.
    await rejectsWith(recoverRewrap(path, { keys: oldKeys }), "ERR_KEY_NOT_FOUND");
    expect(await recoverRewrap(path, { keys: newKeys })).toBe("rolled-back");
    expect(readFileSync(path).equals(original)).toBe(true);
    expect(existsSync(journalPath(path))).toBe(false);
    await loadFile(path, { keys: oldKeys });
    expect(await recoverRewrap(path)).toBe("none");
  });

  it("a journal on a file that already holds the new header completes; a torn journal is discarded", async () => {
    const path = at("done.ct");
    const oldKeys = keySet("a");
    const newKeys = keySet("g");
    await saveModel(path, oldKeys);
    const original = readFileSync(path);
    const n = Number(original.readBigUInt64LE(0));
    const copy = at("done-new.ct");
    await rewrapFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
      output: copy,
    });
    const newRegion = readFileSync(copy).subarray(8, 8 + n);
    copyFileSync(copy, path);
    const journal = signedJournal(path, original.subarray(8, 8 + n), newRegion, newKeys);
    writeFileSync(journalPath(path), journal);
    expect(await recoverRewrap(path, { verifyKeys: [publicOf(newKeys)] })).toBe("completed");
    await loadFile(path, { keys: newKeys });

    writeFileSync(journalPath(path), journal.subarray(0, journal.length - 10));
    expect(await recoverRewrap(path)).toBe("discarded-journal");
    await loadFile(path, { keys: newKeys });
  });

  it("a journal left by someone else blocks a rewrap with ERR_BUSY", async () => {
    const path = at("busy.ct");
    const keys = keySet("a");
    await saveModel(path, keys);
    writeFileSync(journalPath(path), "x");
    const error = await rejectsWith(
      rewrapFile(path, { oldKeys: keys, newEncKey: keySet("h").keys[0] }),
      "ERR_BUSY",
    );
    expect(error.message).toMatch(/recoverRewrap/);
    expect(await recoverRewrap(path)).toBe("discarded-journal");
  });
});
