// Issue 11, findings 8 and 9: a handle opened for a subset of tensors holds only their data keys
// and exposes no way around the subset; with pinned verification keys the signature is checked
// before any provider is asked for a master key.
import { describe, expect, it } from "vitest";
import {
  CryptoTensorsError,
  KeyProviderRegistry,
  openFile,
  type KeyProvider,
  type KeyRequest,
} from "../../src/index.js";
import { editReserved, encryptedFile, rewrite, scratchDir } from "./craft.js";

const dir = scratchDir("ct-subset-");
const BACKENDS = ["native", "fallback"] as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CryptoTensorsError ? error.code : (error as Error).name;
  }
  return "resolved";
}

describe.each(BACKENDS)("openFile({ tensors }) on the %s backend (finding 8)", (backend) => {
  it("unwraps only the requested tensors' data keys", async () => {
    const file = await encryptedFile(dir);
    // The unrequested tensor's wrapped key is garbage (re-signed, so only the unwrap can notice):
    // a handle for "weight" must never try to unwrap it.
    const path = rewrite(dir, file, (h) =>
      editReserved(h, "__encryption__", (e) => {
        e["bias"].key_tag = Buffer.alloc(16, 7).toString("base64");
      }),
    );
    expect(await codeOf(openFile(path, { keys: file.keySet, backend }))).toBe(
      "ERR_DECRYPTION_FAILED",
    );
    const handle = await openFile(path, { keys: file.keySet, backend, tensors: ["weight"] });
    try {
      expect((await handle.getTensor("weight")).data.length).toBe(40);
      expect(await codeOf(handle.getTensor("bias"))).toBe("ERR_TENSOR_NOT_FOUND");
    } finally {
      await handle.close();
    }
  });

  it("keeps its header, raw reader and keys out of reach of JS", async () => {
    const file = await encryptedFile(dir);
    const handle = await openFile(file.path, { keys: file.keySet, backend, tensors: ["weight"] });
    try {
      const loose = handle as unknown as Record<string, unknown>;
      for (const member of ["header", "file", "readBytes", "byName", "visible", "sealed"]) {
        expect(loose[member], member).toBeUndefined();
      }
      expect(Object.keys(handle)).not.toContain("header");
      expect(handle.names()).toEqual(["weight"]);
    } finally {
      await handle.close();
    }
  });

  it("refuses an empty subset (it would satisfy `every t in input.tensors` vacuously)", async () => {
    const file = await encryptedFile(dir, { policy: "package model\nallow = true" });
    await expect(openFile(file.path, { keys: file.keySet, backend, tensors: [] })).rejects.toThrow(
      RangeError,
    );
  });
});

/** A provider that records every lookup and serves the given master key. */
function recordingRegistry(masterKey: Record<string, string>): {
  registry: KeyProviderRegistry;
  lookups: KeyRequest[];
} {
  const lookups: KeyRequest[] = [];
  const provider: KeyProvider = {
    name: "recording",
    priority: 60,
    async getMasterKey(request) {
      lookups.push(request);
      return { ...masterKey };
    },
  };
  return { registry: new KeyProviderRegistry([provider]), lookups };
}

describe.each(BACKENDS)("lookups before verification on the %s backend (finding 9)", (backend) => {
  it("with pinned verifyKeys, a header that does not verify never reaches a key provider", async () => {
    const file = await encryptedFile(dir);
    const attacker = await encryptedFile(dir);
    // The attacker's header names its own kid/jku and is signed by the attacker's key.
    const forged = rewrite(dir, { ...file, signKey: attacker.signKey }, (h) =>
      editReserved(h, "__crypto_keys__", (k) => {
        k.enc.kid = "attacker-kid";
        k.enc.jku = "https://attacker.example/jwks";
      }),
    );
    const { registry, lookups } = recordingRegistry(file.keySet.keys[0]!);
    const { d: _private, ...publicSign } = file.signKey;
    const code = await codeOf(
      openFile(forged, { backend, verifyKeys: [publicSign], keyRegistry: registry }),
    );
    expect(code).toBe("ERR_SIGNATURE_INVALID");
    expect(lookups).toEqual([]);
    // A genuine file still gets its master key from the provider after the signature verified.
    const handle = await openFile(file.path, {
      backend,
      verifyKeys: [publicSign],
      keyRegistry: registry,
    });
    await handle.close();
    expect(lookups).toEqual([{ kid: "enc-1" }]);
  });
});
