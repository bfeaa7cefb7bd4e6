// The KMIP provider against a real PyKMIP server on loopback with mutual TLS (issue 17): the
// master key is created on the server and never leaves it; a model wrapped with it opens through
// the provider (all data keys in one KMIP request) and with nothing else; wrong client
// certificate, server down, missing key, revoked key: typed errors, nothing decrypted.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HeldKey,
  KeyProviderRegistry,
  KmipKeyReleaseProvider,
  openFile,
  saveFile,
} from "../../../src/index.js";
import { KmipKeyProvider } from "../../../src/index.js";
import { kmipRequest, OPERATION, TAG } from "../../../src/keys/kmip/client.js";
import { ttlv } from "../../../src/keys/kmip/ttlv.js";
import { randomTensor, tempDir } from "../../integration/helpers.js";
import { keySet, publicOf, rejectsWith } from "../helpers.js";
import { runCli } from "../../cli/run-cli.js";
import { freePort, makeCa, makeCert, startPyKmip } from "./pykmip.js";

const dir = tempDir("ct-kmip-");
let server: { port: number; stop(): Promise<void> };
let kms: KmipKeyProvider;
const signer = keySet("kmip");

function client(name = "client", ca = "ca", port = server.port) {
  return new KmipKeyProvider({
    host: "127.0.0.1",
    port,
    cert: join(dir, `${name}.pem`),
    key: join(dir, `${name}.key`),
    ca: join(dir, `${ca}.pem`),
    timeoutMs: 20_000,
  });
}

beforeAll(async () => {
  makeCa(dir, "ca");
  makeCert(dir, "ca", "server", "serverAuth");
  makeCert(dir, "ca", "client", "clientAuth");
  makeCa(dir, "rogue-ca");
  makeCert(dir, "rogue-ca", "rogue", "clientAuth");
  server = await startPyKmip(dir);
  kms = client();
  await kms.createMasterKey("enc-kmip");
});

afterAll(async () => {
  await server?.stop();
});

function tensors(count: number) {
  const out: Record<string, ReturnType<typeof randomTensor>> = {};
  for (let i = 0; i < count; i++) out[`w.${i}`] = randomTensor(300 + i, "U8");
  return out;
}

async function kmipModel(name: string, count = 20) {
  const path = join(dir, name);
  const data = tensors(count);
  await saveFile(path, data, {
    encryption: {
      encKey: HeldKey.master(kms, { kid: "enc-kmip", alg: "aes256gcm" }),
      signKey: signer.keys[1],
    },
  });
  return { path, data };
}

const pinned = () => ({ verifyKeys: [publicOf(signer)] });

describe("KMIP provider on PyKMIP", () => {
  it("a model wrapped by the server opens through it and with nothing else", async () => {
    const { path, data } = await kmipModel("kmip.ct", 40);
    const file = await openFile(path, { ...pinned(), keyRegistry: new KeyProviderRegistry([kms]) });
    try {
      const got = await file.getTensor("w.17");
      expect(Buffer.from(got.data as Uint8Array)).toEqual(
        Buffer.from(data["w.17"]?.data as Uint8Array),
      );
    } finally {
      await file.close();
    }
    await rejectsWith(
      openFile(path, { ...pinned(), keyRegistry: new KeyProviderRegistry([]) }),
      "ERR_KEY_NOT_FOUND",
    );
    const other = keySet("other");
    await rejectsWith(
      openFile(path, { ...pinned(), keys: [{ ...other.keys[0], kid: "enc-kmip" }] }),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("wrong client certificate, server down, missing key: typed errors, nothing decrypted", async () => {
    const { path } = await kmipModel("errors.ct", 3);
    const rogue = await rejectsWith(
      openFile(path, { ...pinned(), keyRegistry: new KeyProviderRegistry([client("rogue")]) }),
      "ERR_KEY_PROVIDER",
    );
    expect(rogue.message).toContain("KMIP server");
    const down = await rejectsWith(
      openFile(path, {
        ...pinned(),
        keyRegistry: new KeyProviderRegistry([client("client", "ca", await freePort())]),
      }),
      "ERR_KEY_PROVIDER",
    );
    expect(down.message).toContain("ECONNREFUSED");
    const keys = keySet("missing");
    const missing = join(dir, "missing.ct");
    await saveFile(missing, tensors(2), {
      encryption: { encKey: { ...keys.keys[0], kid: "no-such-key" }, signKey: signer.keys[1] },
    });
    await rejectsWith(
      openFile(missing, { ...pinned(), keyRegistry: new KeyProviderRegistry([kms]) }),
      "ERR_KEY_NOT_FOUND",
    );
  });

  it("the CLI opens it with --key-provider kmip://…", async () => {
    const { path } = await kmipModel("cli.ct", 3);
    const pub = join(dir, "pub.jwks");
    writeFileSync(pub, JSON.stringify({ keys: [publicOf(signer)] }));
    const q = (name: string) => encodeURIComponent(join(dir, name));
    const uri = `kmip://127.0.0.1:${server.port}?cert=${q("client.pem")}&key=${q("client.key")}&ca=${q("ca.pem")}`;
    const out = join(dir, "cli.safetensors");
    const result = await runCli([
      "decrypt",
      path,
      out,
      "--key-provider",
      uri,
      "--verify-keys",
      pub,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const without = await runCli(["decrypt", path, out, "--verify-keys", pub]);
    expect(without.status).toBe(1);
    const keygen = await runCli(["keygen", "--key-provider", uri, "--enc-kid", "enc-cli"]);
    expect(keygen.status, keygen.stderr).toBe(0);
    expect(JSON.parse(keygen.stdout)).toEqual({ kty: "oct", alg: "aes256gcm", kid: "enc-cli" });
    const encrypted = join(dir, "cli-enc.ct");
    const signerFile = join(dir, "signer.jwks");
    writeFileSync(signerFile, JSON.stringify({ keys: [signer.keys[1]] }));
    const encrypt = await runCli([
      "encrypt",
      out,
      encrypted,
      "--keys",
      signerFile,
      "--key-provider",
      uri,
      "--enc-kid",
      "enc-cli",
      "--sign-kid",
      "sign-kmip",
    ]);
    expect(encrypt.status, encrypt.stderr).toBe(0);
    const again = await runCli([
      "decrypt",
      encrypted,
      join(dir, "cli-again.safetensors"),
      "--key-provider",
      uri,
      "--verify-keys",
      pub,
    ]);
    expect(again.status, again.stderr).toBe(0);
  });

  it("key release: KMIP Get hands the master key out and the data keys are unwrapped locally", async () => {
    const { path, data } = await kmipModel("release.ct", 5);
    const release = new KmipKeyReleaseProvider({
      host: "127.0.0.1",
      port: server.port,
      cert: join(dir, "client.pem"),
      key: join(dir, "client.key"),
      ca: join(dir, "ca.pem"),
    });
    const file = await openFile(path, {
      ...pinned(),
      keyRegistry: new KeyProviderRegistry([release]),
    });
    try {
      const got = await file.getTensor("w.4");
      expect(Buffer.from(got.data as Uint8Array)).toEqual(
        Buffer.from(data["w.4"]?.data as Uint8Array),
      );
    } finally {
      await file.close();
    }
    expect(await release.getMasterKey({ kid: "no-such-key" })).toBeUndefined();
  });

  it("a revoked key is refused by the server", async () => {
    const revokedKms = client();
    const uid = await revokedKms.createMasterKey("enc-revoked");
    const path = join(dir, "revoked.ct");
    await saveFile(path, tensors(2), {
      encryption: {
        encKey: HeldKey.master(revokedKms, { kid: "enc-revoked", alg: "aes256gcm" }),
        signKey: signer.keys[1],
      },
    });
    const conn = {
      host: "127.0.0.1",
      port: server.port,
      cert: readFileSync(join(dir, "client.pem")),
      key: readFileSync(join(dir, "client.key")),
      ca: readFileSync(join(dir, "ca.pem")),
    };
    const [revoked] = await kmipRequest(conn, [
      {
        operation: OPERATION.revoke,
        payload: [
          ttlv.text(TAG.uniqueIdentifier, uid),
          ttlv.struct(TAG.revocationReason, [ttlv.enum(TAG.revocationReasonCode, 2)]),
        ],
      },
    ]);
    expect(revoked?.ok, JSON.stringify(revoked)).toBe(true);
    const error = await rejectsWith(
      openFile(path, { ...pinned(), keyRegistry: new KeyProviderRegistry([revokedKms]) }),
      "ERR_KEY_PROVIDER",
    );
    expect(error.message).toContain("permission denied");
  });
});
