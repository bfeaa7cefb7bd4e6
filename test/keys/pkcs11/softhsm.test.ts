// The PKCS#11 provider against a real SoftHSM2 (issue 17): keys created in the token as
// sensitive and non-extractable, a model encrypted and signed with them opens with the provider
// and with nothing else; wrong PIN, missing key, missing token, ChaCha20 and an extractable key
// are typed errors with nothing decrypted.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  HeldKey,
  KeyProviderRegistry,
  Pkcs11KeyProvider,
  generatePkcs11Keys,
  openFile,
  reencryptFile,
  saveFile,
  type KeyProvider,
  type Pkcs11Keys,
} from "../../../src/index.js";
import { randomTensor, tempDir } from "../../integration/helpers.js";
import { keySet, rejectsWith } from "../helpers.js";
import { initToken, privateSoftHsm, tokenUri } from "./softhsm.js";

const dir = tempDir("ct-pkcs11-");
let hsmDir: string;
let uri: string;
let made: Pkcs11Keys;

function tensors(count: number) {
  const out: Record<string, ReturnType<typeof randomTensor>> = {};
  for (let i = 0; i < count; i++) out[`layer.${i}`] = randomTensor(1000 + i, "U8");
  return out;
}

beforeAll(async () => {
  hsmDir = privateSoftHsm();
  uri = initToken(hsmDir, "models").uri;
  made = await generatePkcs11Keys(uri, { encKid: "enc-1", signKid: "sign-1" });
});

async function hsmModel(name: string, count = 40) {
  const hsm = new Pkcs11KeyProvider(uri);
  const path = join(dir, name);
  const data = tensors(count);
  try {
    await saveFile(path, data, {
      encryption: {
        encKey: HeldKey.master(hsm, { kid: "enc-1", alg: "aes256gcm" }),
        signKey: HeldKey.signer(hsm, { kid: "sign-1" }),
      },
    });
  } finally {
    hsm.close();
  }
  return { path, data };
}

describe("PKCS#11 provider on SoftHSM2", () => {
  it("keygen makes sensitive, non-extractable keys in the token and returns only public parts", () => {
    expect(made.enc).toEqual({ kty: "oct", alg: "aes256gcm", kid: "enc-1" });
    expect(made.verify?.kid).toBe("sign-1");
    expect(Buffer.from(made.verify?.x ?? "", "base64")).toHaveLength(32);
    const hsm = new Pkcs11KeyProvider(uri);
    try {
      const { p, session, c } = hsm.token.session(true);
      for (const [kind, label] of [
        ["secret", "enc-1"],
        ["private", "sign-1"],
      ] as const) {
        const key = hsm.token.findKey(kind, label);
        expect(key).toBeDefined();
        const [sensitive, extractable] = hsm.token.attributes(key as Buffer, [
          c.CKA_SENSITIVE,
          c.CKA_EXTRACTABLE,
        ]);
        expect(sensitive?.value[0]).toBe(1);
        expect(extractable?.value[0]).toBe(0);
        expect(() => p.C_GetAttributeValue(session, key, [{ type: c.CKA_VALUE }])).toThrow(
          /CKR_ATTRIBUTE_SENSITIVE/,
        );
      }
    } finally {
      hsm.close();
    }
  });

  it("a model encrypted and signed in the token opens with the provider, pinned or not", async () => {
    const { path, data } = await hsmModel("hsm.ct");
    const hsm = new Pkcs11KeyProvider(uri);
    try {
      const registry = new KeyProviderRegistry([hsm]);
      for (const options of [
        { keyRegistry: registry },
        { keyRegistry: registry, verifyKeys: [made.verify!] },
      ]) {
        const file = await openFile(path, options);
        try {
          const got = await file.getTensor("layer.7");
          expect(Buffer.from(got.data as Uint8Array)).toEqual(
            Buffer.from(data["layer.7"]?.data as Uint8Array),
          );
        } finally {
          await file.close();
        }
      }
    } finally {
      hsm.close();
    }
  });

  it("opens with nothing else: no provider, or another key under the same kid", async () => {
    const { path } = await hsmModel("alone.ct", 3);
    const pinned = { verifyKeys: [made.verify!], keyRegistry: new KeyProviderRegistry([]) };
    await rejectsWith(openFile(path, pinned), "ERR_KEY_NOT_FOUND");
    const other = keySet("other");
    await rejectsWith(
      openFile(path, { ...pinned, keys: [{ ...other.keys[0], kid: "enc-1" }] }),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("wrong PIN, missing PIN, missing key, missing token: typed errors, nothing decrypted", async () => {
    const { path } = await hsmModel("errors.ct", 3);
    const second = initToken(hsmDir, "locked");
    const cases: Array<[string, string, string]> = [
      // The model's token with a wrong PIN is tested on a token nobody in this process logged in to.
      [tokenUri("locked", "pin-value=0000"), "ERR_KEY_PROVIDER", "CKR_PIN_INCORRECT"],
      [tokenUri("locked", ""), "ERR_KEY_PROVIDER", "needs the user PIN"],
      [second.uri, "ERR_KEY_NOT_FOUND", "enc-1"],
      [tokenUri("absent", "pin-value=1"), "ERR_KEY_PROVIDER", "no token matches"],
    ];
    for (const [badUri, code, text] of cases) {
      const bad = new Pkcs11KeyProvider(badUri);
      try {
        const error = await rejectsWith(
          openFile(path, {
            verifyKeys: [made.verify!],
            keyRegistry: new KeyProviderRegistry([bad]),
          }),
          code as "ERR_KEY_PROVIDER",
        );
        expect(error.message).toContain(text);
        expect(error.message).not.toContain("0000");
      } finally {
        bad.close();
      }
    }
    const nowhere = new Pkcs11KeyProvider(
      "pkcs11:token=models?module-path=/nonexistent/libpkcs11.so&pin-value=1",
    );
    await rejectsWith(
      openFile(path, {
        verifyKeys: [made.verify!],
        keyRegistry: new KeyProviderRegistry([nowhere]),
      }),
      "ERR_KEY_PROVIDER",
    );
  });

  it("ChaCha20-Poly1305 files are refused clearly: SoftHSM2 has no such mechanism", async () => {
    const keys = keySet("chacha", "chacha20poly1305");
    const path = join(dir, "chacha.ct");
    await saveFile(path, tensors(2), {
      encryption: { encKey: { ...keys.keys[0], kid: "enc-1" }, signKey: keys.keys[1] },
    });
    const hsm = new Pkcs11KeyProvider(uri);
    try {
      const error = await rejectsWith(
        openFile(path, { verifyKeys: [keys.keys[1]], keyRegistry: new KeyProviderRegistry([hsm]) }),
        "ERR_NOT_SUPPORTED",
      );
      expect(error.message).toContain("CKM_CHACHA20_POLY1305");
      expect(() => HeldKey.master(hsm, { kid: "enc-1", alg: "chacha20poly1305" })).not.toThrow();
      await rejectsWith(
        saveFile(join(dir, "chacha-out.ct"), tensors(1), {
          encryption: {
            encKey: HeldKey.master(hsm, { kid: "enc-1", alg: "chacha20poly1305" }),
            signKey: keys.keys[1],
          },
        }),
        "ERR_NOT_SUPPORTED",
      );
    } finally {
      hsm.close();
    }
  });

  it("a key the token would let out is refused unless allowed", async () => {
    const hsm = new Pkcs11KeyProvider(uri);
    try {
      const { p, session, c } = hsm.token.session(true);
      p.C_GenerateKey(session, { mechanism: c.CKM_AES_KEY_GEN }, [
        { type: c.CKA_CLASS, value: c.CKO_SECRET_KEY },
        { type: c.CKA_KEY_TYPE, value: c.CKK_AES },
        { type: c.CKA_VALUE_LEN, value: 32 },
        { type: c.CKA_LABEL, value: "loose" },
        { type: c.CKA_ENCRYPT, value: true },
        { type: c.CKA_DECRYPT, value: true },
        { type: c.CKA_TOKEN, value: true },
        { type: c.CKA_SENSITIVE, value: false },
        { type: c.CKA_EXTRACTABLE, value: true },
      ]);
      await rejectsWith(
        hsm.wrapDataKeys({ kid: "loose", alg: "aes256gcm" }, [Buffer.alloc(32)]),
        "ERR_KEY_UNTRUSTED",
      );
      const allowed = new Pkcs11KeyProvider(uri, { allowExtractable: true, name: "allowed" });
      try {
        expect(
          await allowed.wrapDataKeys({ kid: "loose", alg: "aes256gcm" }, [Buffer.alloc(32)]),
        ).toHaveLength(1);
      } finally {
        allowed.close();
      }
    } finally {
      hsm.close();
    }
  });

  it("re-encryption moves a model to a new token key; the header's signer signs inside the token", async () => {
    const { path, data } = await hsmModel("rotate.ct", 5);
    await generatePkcs11Keys(uri, { encKid: "enc-2", signKid: null });
    const hsm = new Pkcs11KeyProvider(uri);
    try {
      const registry = new KeyProviderRegistry([hsm]);
      await reencryptFile(path, {
        keyRegistry: registry,
        newEncKey: HeldKey.master(hsm, { kid: "enc-2", alg: "aes256gcm" }),
      });
      const file = await openFile(path, { keyRegistry: registry, verifyKeys: [made.verify!] });
      try {
        expect(file.encryption()?.encKeyId).toBe("enc-2");
        const got = await file.getTensor("layer.2");
        expect(Buffer.from(got.data as Uint8Array)).toEqual(
          Buffer.from(data["layer.2"]?.data as Uint8Array),
        );
      } finally {
        await file.close();
      }
      // The old token key, offered under the new kid, unwraps nothing.
      const renamed: KeyProvider = {
        name: "old-key-as-new",
        priority: 90,
        unwrapDataKeys: (request, wrapped) =>
          hsm.unwrapDataKeys({ ...request, kid: "enc-1" }, wrapped),
      };
      await rejectsWith(
        openFile(path, {
          keyRegistry: new KeyProviderRegistry([renamed, hsm]),
          verifyKeys: [made.verify!],
        }),
        "ERR_DECRYPTION_FAILED",
      );
    } finally {
      hsm.close();
    }
  });

  it("keygen refuses a label already in use", async () => {
    await rejectsWith(
      generatePkcs11Keys(uri, { encKid: "enc-1", signKid: null }),
      "ERR_KEY_INVALID",
    );
  });
});
