// Revocation (issue 17): reencryptFile / reencryptModel draw fresh data keys and IVs and stream
// the data through decrypt → encrypt; afterwards the old master key unwraps none of the new
// entries and opens nothing, while version, chunk size, policy, metadata and plain tensors stay.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  openFile,
  openModel,
  reencryptFile,
  reencryptModel,
  saveFile,
  saveModel,
} from "../../src/index.js";
import { unwrapDataKey } from "../../src/crypto/envelope.js";
import { parseEncryption } from "../../src/crypto/reserved.js";
import { parseJwk, type MasterKey } from "../../src/keys/jwk.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { keysAndEncryption, randomModel } from "../model/helpers.js";
import { keySet, publicOf, rejectsWith, sha256 } from "./helpers.js";

const dir = tempDir("ct-reenc-");
const POLICY = 'package model\nallow if input.claims.team == "ml"';

function header(path: string): Map<string, string> {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return new Map(
    Object.entries(JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")).__metadata__),
  );
}

async function model(path: string, keys: ReturnType<typeof keySet>) {
  const tensors = {
    big: randomTensor(300_000, "U8"),
    small: randomTensor(100, "U8"),
    open: randomTensor(64, "U8"),
  };
  await saveFile(path, tensors, {
    metadata: { format: "pt" },
    encryption: {
      encKey: keys.keys[0],
      signKey: keys.keys[1],
      chunkSize: 65_536,
      tensors: ["big", "small"],
      policy: { local: POLICY },
    },
  });
  return tensors;
}

describe("reencryptFile", () => {
  it("fresh data keys and IVs; the old master key unwraps and opens nothing", async () => {
    const oldKeys = keySet("old");
    const newKeys = keySet("new");
    const path = join(dir, "m.ct");
    const tensors = await model(path, oldKeys);
    const before = header(path);
    const progress: number[] = [];
    const result = await reencryptFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
      claims: { team: "ml" },
      onProgress: (p) => progress.push(p.bytesDone),
    });
    expect(result).toMatchObject({ output: path, reencrypted: 2, bytes: 300_164 });
    expect(progress.at(-1)).toBe(300_164);
    expect(readdirSync(dir)).toEqual(["m.ct"]);

    const after = header(path);
    expect(after.get("__policy__")).toBe(before.get("__policy__"));
    expect(after.get("format")).toBe("pt");
    const oldEntries = parseEncryption(before.get("__encryption__") as string);
    const newEntries = parseEncryption(after.get("__encryption__") as string);
    expect([...newEntries.keys()].sort()).toEqual(["big", "small"]);
    const oldMaster = parseJwk(oldKeys.keys[0]) as MasterKey;
    for (const [name, entry] of newEntries) {
      const old = oldEntries.get(name);
      expect(entry.wrappedKey.equals(old?.wrappedKey as Buffer)).toBe(false);
      expect("baseIv" in entry && "baseIv" in (old ?? {})).toBe(true);
      expect(() => unwrapDataKey("aes256gcm", oldMaster.key, entry)).toThrow(
        expect.objectContaining({ code: "ERR_DECRYPTION_FAILED" }),
      );
    }
    const claims = { team: "ml" };
    const file = await openFile(path, { keys: newKeys, claims });
    try {
      expect(file.encryption()).toMatchObject({ version: "2", chunkSize: 65_536 });
      expect(file.info("open").encrypted).toBe(false);
      for (const name of ["big", "small", "open"] as const)
        expect(sha256((await file.getTensor(name)).data as Uint8Array)).toBe(
          sha256(tensors[name].data),
        );
    } finally {
      await file.close();
    }
    // The old master key under the new kid, with the new signer pinned: the tag fails.
    const relabelled = { ...oldKeys.keys[0], kid: "enc-new" };
    await rejectsWith(
      openFile(path, { keys: [relabelled], verifyKeys: [publicOf(newKeys)], claims }),
      "ERR_DECRYPTION_FAILED",
    );
    await rejectsWith(openFile(path, { keys: oldKeys, claims }), "ERR_KEY_NOT_FOUND");
  });

  it("keeps the header's signer by default and writes to output, leaving the input alone", async () => {
    const oldKeys = keySet("keep");
    const newKeys = keySet("keep2");
    const path = join(dir, "keep.ct");
    await model(path, oldKeys);
    const original = sha256(readFileSync(path));
    const output = join(dir, "keep-out.ct");
    await reencryptFile(path, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      output,
      claims: { team: "ml" },
    });
    expect(sha256(readFileSync(path))).toBe(original);
    const file = await openFile(output, {
      keys: [newKeys.keys[0]],
      verifyKeys: [publicOf(oldKeys)],
      claims: { team: "ml" },
    });
    await file.close();
  });

  it("refuses what would not revoke or not open; an abort leaves the file as it was", async () => {
    const oldKeys = keySet("abort");
    const newKeys = keySet("abort2");
    const path = join(dir, "abort.ct");
    await model(path, oldKeys);
    const original = sha256(readFileSync(path));
    await expect(reencryptFile(path, { oldKeys } as never)).rejects.toThrow(TypeError);
    await rejectsWith(
      reencryptFile(path, { oldKeys: newKeys, newEncKey: newKeys.keys[0], claims: { team: "ml" } }),
      "ERR_KEY_NOT_FOUND",
    );
    await rejectsWith(
      reencryptFile(path, { oldKeys, newEncKey: newKeys.keys[0], claims: { team: "x" } }),
      "ERR_POLICY_UNDEFINED",
    );
    const controller = new AbortController();
    await rejectsWith(
      reencryptFile(path, {
        oldKeys,
        newEncKey: newKeys.keys[0],
        claims: { team: "ml" },
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
      "ERR_ABORTED",
    );
    expect(sha256(readFileSync(path))).toBe(original);
    expect(readdirSync(dir).filter((n) => n.startsWith("abort"))).toEqual(["abort.ct"]);
    const plain = join(dir, "plain.safetensors");
    await saveFile(plain, { a: randomTensor(4, "U8") });
    await rejectsWith(reencryptFile(plain, { newEncKey: newKeys.keys[0] }), "ERR_NOT_ENCRYPTED");
  });
});

describe("reencryptModel", () => {
  it("re-encrypts every shard into a new directory; the old key opens no shard", async () => {
    const { keys: oldKeys, encryption } = keysAndEncryption();
    const { keys: newKeys } = keysAndEncryption({ encKid: "enc-2", signKid: "sign-2" });
    const source = join(dir, "model.ct");
    const tensors = randomModel(6, 5_000);
    await saveModel(source, tensors, { maxShardSize: 40_000, encryption });
    const out = join(dir, "model.reenc");
    const result = await reencryptModel(source, out, {
      oldKeys,
      newEncKey: newKeys.keys[0],
      newSignKey: newKeys.keys[1],
    });
    expect(result.shards.length).toBeGreaterThan(1);
    const opened = await openModel(out, { keys: newKeys, requireBoundShards: true });
    try {
      expect(opened.encryption()?.encryptedTensors.sort()).toEqual(Object.keys(tensors).sort());
      const name = "model.layers.3.mlp.weight";
      expect(sha256((await opened.getTensor(name)).data as Uint8Array)).toBe(
        sha256(tensors[name]?.data as Uint8Array),
      );
    } finally {
      await opened.close();
    }
    const relabelled = { ...oldKeys.keys[0], kid: "enc-2" };
    await rejectsWith(
      openModel(out, { keys: [relabelled], verifyKeys: [newKeys.keys[1]] }),
      "ERR_DECRYPTION_FAILED",
    );
  });
});
