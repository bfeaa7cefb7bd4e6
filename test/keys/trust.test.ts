// Trust settings through openFile/loadFile/verifyFile: jku followed only inside jkuRoots, pinned
// verification keys, requireSignature/requireEncrypted, clear missing-key errors, and the
// planted-key attack of FORMAT.md §8.2 refused.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  EnvKeyProvider,
  KeyProviderRegistry,
  loadFile,
  openFile,
  saveFile,
  verifyFile,
} from "../../src/index.js";
import { randomTensor, tempDir } from "../integration/helpers.js";
import { keySet, publicOf, rejectsWith, saveModel } from "./helpers.js";

const dir = tempDir("ct-trust-");
const at = (name: string) => join(dir, name);
const noRegistry = new KeyProviderRegistry();

describe("keys found through a file:// jku", () => {
  const keyDir = join(dir, "keys");
  mkdirSync(keyDir);
  const keys = keySet("j");
  const jku = `file://${join(keyDir, "model.jwks")}`;
  writeFileSync(join(keyDir, "model.jwks"), JSON.stringify(keys));
  const path = at("jku.ct");
  const saved = saveFile(
    path,
    { w: randomTensor(1000) },
    { encryption: { encKey: { ...keys.keys[0], jku }, signKey: { ...keys.keys[1], jku } } },
  );

  it("load without any keys when jkuRoots holds the key directory", async () => {
    await saved;
    const tensors = await loadFile(path, { jkuRoots: [keyDir], keyRegistry: noRegistry });
    expect(tensors["w"]!.data.length).toBe(1000);
  });

  it("are not followed by default, nor outside the roots (ERR_KEY_UNTRUSTED naming the jku)", async () => {
    await saved;
    const error = await rejectsWith(loadFile(path), "ERR_KEY_UNTRUSTED");
    expect(error.message).toContain(jku);
    expect(error.message).toMatch(/jkuRoots/);
    await rejectsWith(loadFile(path, { jkuRoots: [join(dir, "elsewhere")] }), "ERR_KEY_UNTRUSTED");
  });

  it("direct keys (priority 100) win over the jku file (10) and the environment (0)", async () => {
    await saved;
    const other = keySet("j");
    const env = new KeyProviderRegistry([
      new EnvKeyProvider({ CRYPTOTENSOR_KEYS: JSON.stringify(other) }),
    ]);
    // Same kids, other key bytes: whichever provider answers first decides the outcome.
    await rejectsWith(
      loadFile(path, { keys: other, jkuRoots: [keyDir], keyRegistry: env }),
      "ERR_SIGNATURE_INVALID",
    );
    await loadFile(path, { keys: keys, keyRegistry: env });
    await loadFile(path, { jkuRoots: [keyDir], keyRegistry: env });
    await rejectsWith(loadFile(path, { keyRegistry: env }), "ERR_SIGNATURE_INVALID");
  });
});

describe("missing keys", () => {
  it("name the kid, the jku and each place looked", async () => {
    const keys = keySet("m");
    const path = at("missing.ct");
    await saveModel(path, keys);
    const registry = new KeyProviderRegistry([new EnvKeyProvider({})]);
    const error = await rejectsWith(
      openFile(path, { keys: [keySet("x").keys[0]], keyRegistry: registry }),
      "ERR_KEY_NOT_FOUND",
    );
    expect(error.message).toMatch(/master \(decryption\) key for kid "enc-m"/);
    expect(error.message).toContain("options.keys: no such key");
    expect(error.message).toContain("env: not ready");
    const verify = await rejectsWith(
      verifyFile(path, { keys: [keys.keys[0]], keyRegistry: registry }),
      "ERR_KEY_NOT_FOUND",
    );
    expect(verify.message).toMatch(/verification key for kid "sign-m"/);
  });
});

describe("pinned verification keys", () => {
  it("a file verifies only under a pinned key; the registry is not asked for one", async () => {
    const keys = keySet("p");
    const path = at("pinned.ct");
    await saveModel(path, keys);
    await loadFile(path, {
      keys: [keys.keys[0]],
      verifyKeys: [publicOf(keys)],
      keyRegistry: noRegistry,
    });
    // A pinned key without a kid applies to any kid.
    const { kid: _kid, ...anonymous } = publicOf(keys);
    await verifyFile(path, { verifyKeys: [anonymous], keyRegistry: noRegistry });
    // The right key in options.keys does not help when another key is pinned.
    const other = keySet("p");
    await rejectsWith(
      loadFile(path, { keys, verifyKeys: [publicOf(other)] }),
      "ERR_SIGNATURE_INVALID",
    );
    const notPinned = await rejectsWith(
      loadFile(path, { keys, verifyKeys: [publicOf(keySet("q"))] }),
      "ERR_KEY_UNTRUSTED",
    );
    expect(notPinned.message).toMatch(/signing kid "sign-p".*not among the pinned/);
  });
});

describe("planted-key attack (FORMAT.md §8.2)", () => {
  // The attacker can write files somewhere the loader can read (here /tmp-like attackerDir), and
  // hands out a forged model whose header names their key file through jku.
  const attackerDir = join(dir, "attacker");
  const trustedDir = join(dir, "trusted");
  mkdirSync(attackerDir);
  mkdirSync(trustedDir);
  const publisher = keySet("pub");
  const attacker = keySet("pub"); // the attacker copies the publisher's kids
  const evilJku = `file://${join(attackerDir, "evil.jwks")}`;
  writeFileSync(join(attackerDir, "evil.jwks"), JSON.stringify(attacker));
  writeFileSync(
    join(trustedDir, "publisher.jwks"),
    JSON.stringify({ keys: [publicOf(publisher)] }),
  );
  const forged = at("forged.ct");
  const made = saveFile(
    forged,
    { w: randomTensor(256) },
    {
      metadata: { format: "pt" },
      encryption: {
        encKey: { ...attacker.keys[0], jku: evilJku },
        signKey: { ...attacker.keys[1], jku: evilJku },
      },
    },
  );

  it("is refused by default: the jku is outside any root", async () => {
    await made;
    await rejectsWith(loadFile(forged), "ERR_KEY_UNTRUSTED");
    await rejectsWith(verifyFile(forged), "ERR_KEY_UNTRUSTED");
  });

  it("is refused when only the publisher's directory is trusted", async () => {
    await made;
    await rejectsWith(verifyFile(forged, { jkuRoots: [trustedDir] }), "ERR_KEY_UNTRUSTED");
  });

  it("is refused under a pinned publisher key even if the attacker's directory were trusted", async () => {
    await made;
    await rejectsWith(
      verifyFile(forged, { jkuRoots: [attackerDir], verifyKeys: [publicOf(publisher)] }),
      "ERR_SIGNATURE_INVALID",
    );
    await rejectsWith(
      loadFile(forged, { jkuRoots: [attackerDir], verifyKeys: [publicOf(publisher)] }),
      "ERR_SIGNATURE_INVALID",
    );
    // Without the pin, a careless root configuration lets it through: the pin is what makes it safe.
    await verifyFile(forged, { jkuRoots: [attackerDir], keyRegistry: noRegistry });
  });
});

describe("downgrade (FORMAT.md §8.3)", () => {
  it("requireSignature and requireEncrypted refuse a plain file", async () => {
    const plain = at("plain.safetensors");
    await saveFile(plain, { w: randomTensor(16) });
    await rejectsWith(openFile(plain, { requireSignature: true }), "ERR_MISSING_SIGNATURE");
    await rejectsWith(openFile(plain, { requireEncrypted: true }), "ERR_NOT_ENCRYPTED");
    await loadFile(plain);
  });
});

describe("key hygiene", () => {
  it("keys parsed from JWKs for one operation are wiped after it; key objects the caller passed are not", async () => {
    const { KeyContext } = await import("../../src/reader/key-lookup.js");
    const { parseJwk } = await import("../../src/index.js");
    const keys = keySet("w");
    const context = KeyContext.open({ keys, keyRegistry: noRegistry });
    const master = await context.master({ kty: "oct", alg: "aes256gcm", kid: "enc-w" });
    expect(master.key.key.length).toBe(32);
    context.dispose();
    expect(() => master.key.key).toThrow(TypeError);

    const path = at("hygiene.ct");
    await saveModel(path, keys);
    const mine = [parseJwk(keys.keys[0]), parseJwk(keys.keys[1])] as const;
    await loadFile(path, { keys: [...mine], keyRegistry: noRegistry });
    expect(() => (mine[0] as { key: Buffer }).key).not.toThrow();
    expect((mine[1] as { canSign: boolean }).canSign).toBe(true);
  });
});

describe("RFC 7517 JWKs", () => {
  it("open a file from options, CRYPTOTENSOR_KEYS and a jku key file alike", async () => {
    const keys = keySet("rfc");
    const url = (b64: string) => Buffer.from(b64, "base64").toString("base64url");
    const [enc, sign] = keys.keys;
    const rfc = {
      keys: [
        { kty: "oct", alg: "A256GCM", kid: enc["kid"], k: url(enc["k"]!) },
        { kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: sign["kid"], x: url(sign["x"]!) },
      ],
    };
    const path = at("rfc.ct");
    const tensors = await saveModel(path, keys);
    const fromOptions = await loadFile(path, { keys: rfc, keyRegistry: noRegistry });
    expect(Buffer.from(fromOptions["weight"]!.data).equals(Buffer.from(tensors.weight.data))).toBe(
      true,
    );
    const env = new KeyProviderRegistry([
      new EnvKeyProvider({ CRYPTOTENSOR_KEYS: JSON.stringify(rfc) }),
    ]);
    await loadFile(path, { keyRegistry: env });
    await verifyFile(path, { verifyKeys: [rfc.keys[1]!], keyRegistry: noRegistry });
  });
});
