// Remote loading against a real range server: Debian's nginx on 127.0.0.1, started by this file
// from a private config. A URL (string or URL object) gives the same tensors, slices, descriptions
// and errors as the local file it serves, on both backends; a private location needs the headers
// option, and the credential never appears in an error.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ErrorCode,
  generateKeySet,
  inspectFile,
  loadFile,
  loadModel,
  openFile,
  openModel,
  saveFile,
  verifyFile,
} from "../../src/index.js";
import { loadNativeBinding } from "../../src/native/addon.js";
import { randomTensor } from "../integration/helpers.js";
import { expectCode } from "../support/expect-code.js";
import { type Nginx, startNginx } from "../support/nginx.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = "s3cr3t-token-value";
const dir = tempDir("ct-remote-nginx-");
const set = generateKeySet({ alg: "aes256gcm" });
const other = generateKeySet({ alg: "aes256gcm" });
const tensors = {
  a: randomTensor(5000),
  b: { dtype: "F32" as const, shape: [300, 250], data: randomTensor(300_000).data },
  empty: randomTensor(0),
};
let nginx: Nginx;
const files: Record<string, string> = {};

beforeAll(async () => {
  nginx = await startNginx(TOKEN);
  const write = async (name: string, encryption: Parameters<typeof saveFile>[2]) => {
    const path = join(dir, name);
    await saveFile(path, tensors, encryption);
    copyFileSync(path, join(nginx.root, name));
    files[name] = path;
  };
  await write("v2.ct", {
    encryption: { encKey: set.keys[0], signKey: set.keys[1], chunkSize: 4096 },
  });
  await write("v1.ct", { encryption: { encKey: set.keys[0], signKey: set.keys[1], version: "1" } });
  await write("plain.safetensors", {});
  const bytes = readFileSync(files["v2.ct"] as string);
  const tampered = Uint8Array.from(bytes);
  tampered[tampered.length - 10]! ^= 1;
  writeFileSync(join(dir, "tampered.ct"), tampered);
  writeFileSync(join(nginx.root, "tampered.ct"), tampered);
  writeFileSync(join(dir, "short.ct"), bytes.subarray(0, 100));
  writeFileSync(join(nginx.root, "short.ct"), bytes.subarray(0, 100));
  writeFileSync(join(dir, "empty.ct"), new Uint8Array(0));
  writeFileSync(join(nginx.root, "empty.ct"), new Uint8Array(0));
  copyFileSync(files["v2.ct"] as string, join(nginx.root, "private", "v2.ct"));
});
afterAll(async () => {
  await nginx?.stop();
});

describe("remote decryption on the native backend", () => {
  it("runs on the addon's pool over the ciphertext staged in its memory", async () => {
    const binding = loadNativeBinding();
    const before = binding.stats().decrypts;
    const loaded = await loadFile(`${nginx.origin}/v2.ct`, { keys: set, backend: "native" });
    expect(Buffer.from(loaded["b"]!.data).equals(tensors.b.data)).toBe(true);
    // b alone is 1.2 MB in 4 KiB chunks: staged and decrypted natively, chunk by chunk.
    expect(binding.stats().decrypts - before).toBeGreaterThanOrEqual(3);
  });
});

describe.each(["native", "fallback"] as const)("http(s) URLs on the %s backend", (backend) => {
  it("load, slice, verify and inspect exactly like the local file", async () => {
    for (const name of ["v2.ct", "v1.ct", "plain.safetensors"]) {
      const local = files[name] as string;
      const url = `${nginx.origin}/${name}`;
      const keys = name === "plain.safetensors" ? {} : { keys: set };
      const fromLocal = await loadFile(local, { ...keys, backend });
      const fromUrl = await loadFile(new URL(url), { ...keys, backend });
      expect(Object.keys(fromUrl)).toEqual(Object.keys(fromLocal));
      for (const tensor of Object.keys(fromLocal)) {
        expect(fromUrl[tensor]?.shape).toEqual(fromLocal[tensor]?.shape);
        expect(Buffer.from(fromUrl[tensor]!.data).equals(fromLocal[tensor]!.data)).toBe(true);
      }
      const file = await openFile(url, { ...keys, backend });
      const slice = await file.getSlice("b", [
        [120, 123],
        [10, 200],
      ]);
      const localFile = await openFile(local, { ...keys, backend });
      const localSlice = await localFile.getSlice("b", [
        [120, 123],
        [10, 200],
      ]);
      expect(Buffer.from(slice.data).equals(localSlice.data)).toBe(true);
      expect(file.encryption()).toEqual(localFile.encryption());
      await Promise.all([file.close(), localFile.close()]);
      const { path: _a, ...remoteDescription } = await inspectFile(url);
      const { path: _b, ...localDescription } = await inspectFile(local);
      expect(remoteDescription).toEqual(localDescription);
      if (name !== "plain.safetensors")
        expect(await verifyFile(url, { keys: set, backend })).toMatchObject({
          signatureValid: true,
        });
    }
  });

  it("fail with the same error codes as the local file", async () => {
    const cases: [string, object, ErrorCode][] = [
      ["tampered.ct", { keys: set }, "ERR_DECRYPTION_FAILED"],
      ["v2.ct", { keys: other }, "ERR_SIGNATURE_INVALID"],
      ["short.ct", { keys: set }, "ERR_INVALID_HEADER_LENGTH"],
      ["empty.ct", { keys: set }, "ERR_HEADER_TOO_SMALL"],
      ["plain.safetensors", { requireEncrypted: true }, "ERR_NOT_ENCRYPTED"],
    ];
    for (const [name, options, code] of cases) {
      await expectCode(loadFile(join(dir, name), { ...options, backend }), code);
      await expectCode(loadFile(`${nginx.origin}/${name}`, { ...options, backend }), code);
    }
    await expectCode(
      loadFile(`${nginx.origin}/missing.ct`, { keys: set, backend }),
      "ERR_REMOTE_HTTP",
    );
    // No model at that URL (models.test.ts loads real ones): the index and file are both 404.
    await expectCode(openModel(`${nginx.origin}/`, { keys: set }), "ERR_REMOTE_HTTP");
    await expectCode(loadModel(`${nginx.origin}/model.safetensors.index.json`), "ERR_REMOTE_HTTP");
  });

  it("reads a private location with headers or a header callback; the token is never in errors", async () => {
    const url = `${nginx.origin}/private/v2.ct`;
    const denied = await expectCode(loadFile(url, { keys: set, backend }), "ERR_REMOTE_HTTP");
    expect(denied.message).toContain("401");
    const loaded = await loadFile(url, {
      keys: set,
      backend,
      remote: { headers: { authorization: `Bearer ${TOKEN}` } },
    });
    expect(Buffer.from(loaded["a"]!.data).equals(tensors.a.data)).toBe(true);
    let calls = 0;
    const viaCallback = await loadFile(url, {
      keys: set,
      backend,
      remote: {
        headers: async () => {
          calls++;
          return { authorization: `Bearer ${TOKEN}` };
        },
      },
    });
    expect(Buffer.from(viaCallback["b"]!.data).equals(tensors.b.data)).toBe(true);
    expect(calls).toBeGreaterThan(1);
    const wrong = await expectCode(
      loadFile(url, {
        keys: set,
        backend,
        remote: { headers: { authorization: "Bearer wrong-secret" } },
      }),
      "ERR_REMOTE_HTTP",
    );
    expect(JSON.stringify([wrong.message, String(wrong.stack), String(wrong.cause)])).not.toContain(
      "wrong-secret",
    );
  });
});
