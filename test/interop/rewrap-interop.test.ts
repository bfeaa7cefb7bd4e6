// Key rotation against the real reference package (cryptotensors==0.2.3): files we rewrap load
// in the reference with the new keys and not with the old; files the reference rewraps load
// here; the data section is byte-identical (hash) across every rewrap. Also shows the planted-key
// attack of FORMAT.md §8.2 succeeding in the reference and refused here.
import { tempDir } from "../support/temp-dir.js";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, loadFile, rewrapFile, saveFile, verifyFile } from "../../src/index.js";
import {
  expectRefError,
  expectRefOk,
  makeRefKeys,
  masterKeyOf,
  refRead,
  refRewrap,
  refTensor,
  refWrite,
  signingKeyOf,
  splitFile,
  type RefAlgorithm,
  type RefJwks,
  type RefTensor,
} from "./reference.js";

const dir = tempDir("ct-rewrap-interop-");
let counter = 0;
const nextPath = (): string => join(dir, `f${counter++}.ct`);
const bytesOf = (length: number, seed: number): Buffer =>
  Buffer.from(Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff));
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
const dataHash = (path: string): string => sha256(splitFile(readFileSync(path)).data);
const publicKeys = (keys: RefJwks): RefJwks => ({
  keys: keys.keys.map(({ d: _secret, ...rest }) => rest),
});

const tensors = (): Record<string, RefTensor> => ({
  weight: refTensor("F32", [33, 7], bytesOf(33 * 7 * 4, 1)),
  bias: refTensor("F16", [7], bytesOf(14, 2)),
  empty: refTensor("U8", [0], Buffer.alloc(0)),
});

async function expectOurLoad(
  path: string,
  keys: RefJwks,
  expected: Record<string, RefTensor>,
): Promise<void> {
  const loaded = await loadFile(path, { keys });
  for (const [name, t] of Object.entries(expected))
    expect(Buffer.from(loaded[name]!.data).toString("hex"), name).toBe(t.hex);
}

describe("we rewrap → the reference loads", () => {
  it.each([
    ["aes256gcm", "2", 100],
    ["chacha20poly1305", "1", undefined],
    ["aes128gcm", "2", undefined],
  ] as Array<[RefAlgorithm, "1" | "2", number | undefined]>)(
    "%s v%s, in place: new keys load, old keys fail, data unchanged",
    async (alg, version, chunk) => {
      const oldKeys = makeRefKeys({ alg, encKid: "enc-old", signKid: "sign-old" });
      const newKeys = makeRefKeys({ alg, encKid: "enc-new", signKid: "sign-new" });
      const path = nextPath();
      const data = tensors();
      expectRefOk(
        await refWrite({
          path,
          tensors: data,
          metadata: { owner: "publisher" },
          config: {
            enc_key: masterKeyOf(oldKeys),
            sign_key: signingKeyOf(oldKeys),
            version,
            ...(chunk ? { chunk_size: chunk } : {}),
          },
        }),
      );
      const before = dataHash(path);
      const result = await rewrapFile(path, {
        oldKeys,
        newEncKey: masterKeyOf(newKeys),
        newSignKey: signingKeyOf(newKeys),
      });
      expect(result.method).toBe("in-place");
      expect(dataHash(path)).toBe(before);

      const read = expectRefOk(await refRead({ path, keys: publicKeys(newKeys) }));
      expect(read.tensors).toEqual(data);
      expect(read.metadata).toEqual({ owner: "publisher" });
      expect(expectRefError(await refRead({ path, keys: publicKeys(oldKeys) })).message).toBe(
        'Error parsing CryptoTensors: Verification("Signature verification failed")',
      );
      const oldMaster = { keys: [masterKeyOf(oldKeys), publicKeys(newKeys).keys[1]!] };
      expect(expectRefError(await refRead({ path, keys: oldMaster })).message).toBe(
        'Error parsing CryptoTensors: Decryption("ring::error::Unspecified")',
      );
    },
  );

  it("a shrunk header stays in place, padded with many spaces; the reference reads it", async () => {
    const oldKeys = makeRefKeys({
      encKid: "enc-key-with-a-rather-long-identifier-0001",
      signKid: "sign-key-with-a-rather-long-identifier-0001",
    });
    const newKeys = makeRefKeys({ encKid: "e2", signKid: "s2" });
    const path = nextPath();
    const data = tensors();
    expectRefOk(
      await refWrite({
        path,
        tensors: data,
        config: { enc_key: masterKeyOf(oldKeys), sign_key: signingKeyOf(oldKeys) },
      }),
    );
    const before = dataHash(path);
    expect(
      (
        await rewrapFile(path, {
          oldKeys,
          newEncKey: masterKeyOf(newKeys),
          newSignKey: signingKeyOf(newKeys),
        })
      ).method,
    ).toBe("in-place");
    const { headerText } = splitFile(readFileSync(path));
    expect(headerText.length - headerText.trimEnd().length).toBeGreaterThan(60);
    expect(dataHash(path)).toBe(before);
    expect(expectRefOk(await refRead({ path, keys: publicKeys(newKeys) })).tensors).toEqual(data);
  });

  it("a grown header (longer kids, new policy) moves the data; the reference reads it", async () => {
    const oldKeys = makeRefKeys({ encKid: "e", signKid: "s" });
    const newKeys = makeRefKeys({
      encKid: "enc-key-rotated-2026-with-a-much-longer-id",
      signKid: "sign-key-rotated-2026-with-a-longer-id",
    });
    const path = nextPath();
    const data = tensors();
    expectRefOk(
      await refWrite({
        path,
        tensors: data,
        config: { enc_key: masterKeyOf(oldKeys), sign_key: signingKeyOf(oldKeys) },
      }),
    );
    const before = dataHash(path);
    const out = nextPath();
    const result = await rewrapFile(path, {
      oldKeys,
      newEncKey: masterKeyOf(newKeys),
      newSignKey: signingKeyOf(newKeys),
      policy: { local: "package model\n\ndefault allow := false\n\nallow if { true }\n" },
      output: out,
    });
    expect(result.method).toBe("copy");
    expect(dataHash(out)).toBe(before);
    expect(expectRefOk(await refRead({ path: out, keys: publicKeys(newKeys) })).tensors).toEqual(
      data,
    );
  });

  it("a file we wrote and rewrapped (sign key only) loads in the reference", async () => {
    const oldKeys = makeRefKeys({ encKid: "enc-1", signKid: "sign-1" });
    const newKeys = makeRefKeys({ encKid: "enc-1", signKid: "sign-2" });
    const path = nextPath();
    await saveFile(
      path,
      { w: { dtype: "U8", shape: [300], data: bytesOf(300, 7) } },
      {
        encryption: { encKey: masterKeyOf(oldKeys), signKey: signingKeyOf(oldKeys), chunkSize: 64 },
      },
    );
    const out = nextPath();
    expect(
      (await rewrapFile(path, { oldKeys, newSignKey: signingKeyOf(newKeys), output: out })).method,
    ).toBe("clone");
    const read = expectRefOk(
      await refRead({
        path: out,
        keys: { keys: [masterKeyOf(oldKeys), publicKeys(newKeys).keys[1]!] },
      }),
    );
    expect(read.tensors["w"]?.hex).toBe(bytesOf(300, 7).toString("hex"));
  });
});

describe("the reference rewraps → we load", () => {
  it.each([["1"], ["2"]] as const)(
    "v%s: new keys load here, old keys fail, data unchanged",
    async (version) => {
      const oldKeys = makeRefKeys({ encKid: "enc-old", signKid: "sign-old" });
      const newKeys = makeRefKeys({ encKid: "enc-new", signKid: "sign-new" });
      const path = nextPath();
      const data = tensors();
      expectRefOk(
        await refWrite({
          path,
          tensors: data,
          config: { enc_key: masterKeyOf(oldKeys), sign_key: signingKeyOf(oldKeys), version },
        }),
      );
      const before = dataHash(path);
      expectRefOk(await refRewrap({ path, old_keys: publicKeys(oldKeys), new_keys: newKeys }));
      expect(dataHash(path)).toBe(before);
      await expectOurLoad(path, newKeys, data);
      await expect(loadFile(path, { keys: oldKeys })).rejects.toMatchObject({
        code: "ERR_KEY_NOT_FOUND",
      });
      const oldMaster = {
        keys: [{ ...masterKeyOf(oldKeys), kid: "enc-new" }, publicKeys(newKeys).keys[1]!],
      };
      await expect(loadFile(path, { keys: oldMaster })).rejects.toMatchObject({
        code: "ERR_DECRYPTION_FAILED",
      });
    },
  );

  it("a file we wrote, rewrapped by the reference, then by us again, round-trips", async () => {
    const k1 = makeRefKeys({ encKid: "k1", signKid: "s1" });
    const k2 = makeRefKeys({ encKid: "k2", signKid: "s2" });
    const k3 = makeRefKeys({ encKid: "k3", signKid: "s3" });
    const path = nextPath();
    const w = bytesOf(5000, 3);
    await saveFile(
      path,
      { w: { dtype: "U8", shape: [5000], data: w } },
      {
        metadata: { a: "b" },
        encryption: { encKey: masterKeyOf(k1), signKey: signingKeyOf(k1), chunkSize: 512 },
      },
    );
    const before = dataHash(path);
    expectRefOk(await refRewrap({ path, old_keys: publicKeys(k1), new_keys: k2 }));
    await rewrapFile(path, {
      oldKeys: k2,
      newEncKey: masterKeyOf(k3),
      newSignKey: signingKeyOf(k3),
    });
    expect(dataHash(path)).toBe(before);
    expect(expectRefOk(await refRead({ path, keys: publicKeys(k3) })).tensors["w"]?.hex).toBe(
      w.toString("hex"),
    );
    const loaded = await loadFile(path, { keys: k3 });
    expect(Buffer.from(loaded["w"]!.data).equals(w)).toBe(true);
  });
});

describe("planted-key attack (FORMAT.md §8.2)", () => {
  it("the reference verifies a forged model through a key file the attacker planted; we refuse it", async () => {
    const attackerDir = join(dir, "planted");
    mkdirSync(attackerDir, { recursive: true });
    const attacker = makeRefKeys({ encKid: "enc-1", signKid: "sign-1" });
    const keyFile = join(attackerDir, "keys.jwks");
    writeFileSync(keyFile, JSON.stringify(attacker));
    const jku = `file://${keyFile}`;
    const path = nextPath();
    const data = { w: refTensor("U8", [4], Buffer.from("deadbeef", "hex")) };
    expectRefOk(
      await refWrite({
        path,
        tensors: data,
        config: {
          enc_key: { ...masterKeyOf(attacker), jku },
          sign_key: { ...signingKeyOf(attacker), jku },
        },
      }),
    );
    // The reference, given no keys at all, follows the header's jku and accepts the file.
    expect(expectRefOk(await refRead({ path, via: "none" })).tensors).toEqual(data);
    // Here: no jku roots → refused before any key file is read; pinned publisher key → refused.
    await expect(loadFile(path)).rejects.toMatchObject({ code: "ERR_KEY_UNTRUSTED" });
    const publisher = makeRefKeys({ encKid: "enc-1", signKid: "sign-1" });
    const pinned = verifyFile(path, { jkuRoots: [attackerDir], verifyKeys: publicKeys(publisher) });
    await expect(pinned).rejects.toBeInstanceOf(CryptoTensorsError);
    await expect(pinned).rejects.toMatchObject({ code: "ERR_SIGNATURE_INVALID" });
  });
});

describe("JWK forms", () => {
  it("the reference refuses RFC 7517 JWKs on every path (so we write its form); we read both", async () => {
    const keys = makeRefKeys();
    const path = nextPath();
    const data = { w: refTensor("U8", [4], Buffer.from("01020304", "hex")) };
    expectRefOk(
      await refWrite({
        path,
        tensors: data,
        config: { enc_key: masterKeyOf(keys), sign_key: signingKeyOf(keys) },
      }),
    );
    const url = (standard: string | undefined): string =>
      Buffer.from(standard ?? "", "base64").toString("base64url");
    const enc = masterKeyOf(keys);
    const sign = signingKeyOf(keys);
    const rfc = [
      { kty: "oct", alg: "A256GCM", kid: enc.kid, k: url(enc.k) },
      { kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: sign.kid, x: url(sign.x) },
    ];
    const asRef = rfc as unknown as RefJwks["keys"];
    expect(expectRefError(await refRead({ path, keys: asRef, via: "direct" })).message).toBe(
      "Failed to build Enc KeyMaterial: invalid algorithm: A256GCM",
    );
    expect(expectRefError(await refRead({ path, keys: asRef, via: "registry" })).message).toBe(
      "Unsupported key type: OKP",
    );
    expect(expectRefError(await refRead({ path, keys: asRef, via: "env" })).message).toBe(
      'Error parsing CryptoTensors: InvalidAlgorithm("Invalid encryption algorithm")',
    );
    const urlOnly = [{ ...enc, k: url(enc.k) }, sign] as RefJwks["keys"];
    expect(expectRefError(await refRead({ path, keys: urlOnly, via: "direct" })).message).toMatch(
      /^Failed to build Enc KeyMaterial: invalid key: Invalid base64 key: Invalid (symbol|padding)/,
    );
    const loaded = await loadFile(path, { keys: rfc });
    expect(Buffer.from(loaded["w"]!.data).toString("hex")).toBe("01020304");
  });
});
