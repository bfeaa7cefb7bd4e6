// The second KeyProvider shape (issue 17): a provider that keeps its master and signing keys and
// unwraps (one batch per open), wraps and signs itself. The provider here is a real in-process
// key holder (node:crypto AES-GCM and Ed25519 on keys it never hands out); the PKCS#11 tests run
// the same paths against SoftHSM2.
import {
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  randomBytes,
  sign as edSign,
} from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  HeldKey,
  KeyProviderRegistry,
  openFile,
  parseJwk,
  reencryptFile,
  rewrapFile,
  saveFile,
  type DataKeyRequest,
  type SigningKey,
  type KeyProvider,
  type KeyRequest,
  type WrappedDataKey,
} from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { keySet, rejectsWith } from "./helpers.js";

const dir = tempDir("ct-held-");

/** Keeps one AES-256 master key and one Ed25519 key; counts what it is asked. */
class KeyHolder implements KeyProvider {
  readonly name: string;
  readonly priority = 50;
  readonly #master = randomBytes(32);
  readonly #signing = generateKeyPairSync("ed25519");
  unwrapCalls: number[] = [];
  failWith: Error | undefined;

  constructor(name = "holder") {
    this.name = name;
  }

  async unwrapDataKeys(request: DataKeyRequest, wrapped: readonly WrappedDataKey[]) {
    if (this.failWith) throw this.failWith;
    if (request.kid !== "enc-held") return undefined;
    expect(request.alg).toBe("aes256gcm");
    this.unwrapCalls.push(wrapped.length);
    return wrapped.map((w) => {
      const decipher = createDecipheriv("aes-256-gcm", this.#master, w.keyIv);
      decipher.setAuthTag(w.keyTag);
      try {
        return Buffer.concat([decipher.update(w.wrappedKey), decipher.final()]);
      } catch (cause) {
        throw new CryptoTensorsError("ERR_DECRYPTION_FAILED", "tag mismatch", { cause });
      }
    });
  }

  async wrapDataKeys(request: DataKeyRequest, dataKeys: readonly Uint8Array[]) {
    if (request.kid !== "enc-held") return undefined;
    return dataKeys.map((dataKey) => {
      const keyIv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", this.#master, keyIv);
      const wrappedKey = Buffer.concat([cipher.update(dataKey), cipher.final()]);
      return { wrappedKey, keyIv, keyTag: cipher.getAuthTag() };
    });
  }

  async sign(request: KeyRequest, payload: Uint8Array) {
    if (request.kid !== "sign-held") return undefined;
    return new Uint8Array(edSign(null, payload, this.#signing.privateKey));
  }

  async getVerifyKey(request: KeyRequest) {
    if (request.kid !== "sign-held") return undefined;
    const jwk = this.#signing.publicKey.export({ format: "jwk" });
    return { kty: "okp", alg: "ed25519", kid: "sign-held", x: toStd(jwk.x as string) };
  }
}

function toStd(b64url: string): string {
  const std = b64url.replace(/-/g, "+").replace(/_/g, "/");
  return std + "=".repeat((4 - (std.length % 4)) % 4);
}

function tensors(count: number) {
  const out: Record<string, ReturnType<typeof randomTensor>> = {};
  for (let i = 0; i < count; i++)
    out[`t${String(i).padStart(3, "0")}`] = randomTensor(257 + i, "U8");
  return out;
}

async function heldModel(holder: KeyHolder, name: string, count = 12) {
  const path = join(dir, name);
  const data = tensors(count);
  await saveFile(path, data, {
    encryption: {
      encKey: HeldKey.master(holder, { kid: "enc-held", alg: "aes256gcm" }),
      signKey: HeldKey.signer(holder, { kid: "sign-held" }),
    },
  });
  return { path, data };
}

describe("key providers that keep their keys", () => {
  it("a model written and signed by the holder opens through it, all data keys in one batch", async () => {
    const holder = new KeyHolder();
    const { path, data } = await heldModel(holder, "held.ct", 310);
    const registry = new KeyProviderRegistry([holder]);
    const file = await openFile(path, { keyRegistry: registry });
    try {
      expect(holder.unwrapCalls).toEqual([310]);
      const got = await file.getTensor("t123");
      expect(Buffer.from(got.data as Uint8Array)).toEqual(
        Buffer.from(data["t123"]?.data as Uint8Array),
      );
    } finally {
      await file.close();
    }
  });

  it("without the holder nothing opens; another master key fails the tag", async () => {
    const holder = new KeyHolder();
    const { path } = await heldModel(holder, "alone.ct");
    const verifyOnly = new KeyProviderRegistry([
      { name: "verify", priority: 1, getVerifyKey: (r) => holder.getVerifyKey(r) },
    ]);
    await rejectsWith(openFile(path, { keyRegistry: verifyOnly }), "ERR_KEY_NOT_FOUND");
    const other = keySet("x");
    const wrong = { ...other.keys[0], kid: "enc-held" };
    await rejectsWith(
      openFile(path, { keys: [wrong], keyRegistry: verifyOnly }),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("priorities hold: keys passed in (100) are used before a provider (50)", async () => {
    const keys = keySet("p");
    const path = join(dir, "raw.ct");
    await saveFile(path, tensors(3), {
      encryption: { encKey: keys.keys[0], signKey: keys.keys[1] },
    });
    const holder = new KeyHolder();
    const registry = new KeyProviderRegistry([holder]);
    const file = await openFile(path, { keys, keyRegistry: registry });
    await file.close();
    expect(holder.unwrapCalls).toEqual([]);
  });

  it("nothing is unwrapped before the signature and the policy are checked", async () => {
    const holder = new KeyHolder();
    const registry = new KeyProviderRegistry([holder]);
    const { path } = await heldModel(holder, "tamper.ct");
    const bytes = readFileSync(path);
    const at = bytes.indexOf(Buffer.from('"t001"'));
    bytes[at + 2] = "x".charCodeAt(0); // rename a tensor: the signature no longer matches
    const tampered = join(dir, "tampered.ct");
    writeFileSync(tampered, bytes);
    await rejectsWith(openFile(tampered, { keyRegistry: registry }), "ERR_SIGNATURE_INVALID");
    const denied = join(dir, "denied.ct");
    await saveFile(denied, tensors(2), {
      encryption: {
        encKey: HeldKey.master(holder, { kid: "enc-held", alg: "aes256gcm" }),
        signKey: HeldKey.signer(holder, { kid: "sign-held" }),
        policy: { local: "package model\nallow = false" },
      },
    });
    await rejectsWith(openFile(denied, { keyRegistry: registry }), "ERR_POLICY_DENIED");
    expect(holder.unwrapCalls).toEqual([]);
  });

  it("a provider failure is a typed error that names the provider and no secret", async () => {
    const holder = new KeyHolder();
    const { path } = await heldModel(holder, "fail.ct");
    holder.failWith = new Error("device said: secret-material-xyz");
    const error = await rejectsWith(
      openFile(path, { keyRegistry: new KeyProviderRegistry([holder]) }),
      "ERR_KEY_PROVIDER",
    );
    expect(error.message).toContain('"holder"');
    expect(error.message).not.toContain("secret-material-xyz");
  });

  it("a malformed answer is ERR_KEY_INVALID; a held key needs a provider that can do the job", async () => {
    const holder = new KeyHolder();
    const { path } = await heldModel(holder, "short.ct");
    const short: KeyProvider = {
      name: "short",
      priority: 60,
      unwrapDataKeys: async (_r, wrapped) => wrapped.map(() => Buffer.alloc(16)),
      getVerifyKey: (r) => holder.getVerifyKey(r),
    };
    await rejectsWith(
      openFile(path, { keyRegistry: new KeyProviderRegistry([short]) }),
      "ERR_KEY_INVALID",
    );
    expect(() => HeldKey.master(short, { kid: "k", alg: "aes256gcm" })).toThrow(TypeError);
    expect(() => HeldKey.signer(short, { kid: "k" })).toThrow(TypeError);
    expect(() => HeldKey.master(holder, { kid: "k" })).toThrow(TypeError);
  });

  it("rewrapFile refuses held keys with a typed NotSupported error (reencryptFile takes them)", async () => {
    const holder = new KeyHolder();
    const { path } = await heldModel(holder, "rewrap.ct", 2);
    await rejectsWith(
      rewrapFile(path, {
        keyRegistry: new KeyProviderRegistry([holder]),
        newEncKey: HeldKey.master(holder, { kid: "enc-held", alg: "aes256gcm" }),
      }),
      "ERR_NOT_SUPPORTED",
    );
    await reencryptFile(path, {
      keyRegistry: new KeyProviderRegistry([holder]),
      newEncKey: HeldKey.master(holder, { kid: "enc-held", alg: "aes256gcm" }),
    });
    const file = await openFile(path, { keyRegistry: new KeyProviderRegistry([holder]) });
    await file.close();
  });

  it("a raw signing key and a held master key combine", async () => {
    const holder = new KeyHolder();
    const keys = keySet("mix");
    const path = join(dir, "mix.ct");
    await saveFile(path, tensors(2), {
      encryption: {
        encKey: HeldKey.master(holder, { kid: "enc-held", alg: "aes256gcm" }),
        signKey: parseJwk(keys.keys[1]) as SigningKey,
      },
    });
    const file = await openFile(path, {
      verifyKeys: [keys.keys[1]],
      keyRegistry: new KeyProviderRegistry([holder]),
    });
    await file.close();
    expect(holder.unwrapCalls).toEqual([2]);
  });
});
