// Run by scripts/test-arm64.sh inside an installed-like package, by an arm64 Node under qemu:
// loads the package (and so the linux-arm64 prebuild through node-gyp-build), writes a file
// encrypted with AES-256-GCM and one with ChaCha20-Poly1305 through the native backend, reads both
// back, and exits non-zero unless every value round-trips.
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendName, generateKeySet, loadFile, nativeInfo, saveFile } from "./dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "ct-arm64-"));
try {
  const info = nativeInfo();
  assert.equal(backendName(), "native");
  assert.match(info.openssl, /^OpenSSL 3\./);
  const values = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
  for (const alg of ["aes256gcm", "chacha20poly1305"]) {
    const set = generateKeySet({ alg });
    const [encKey, signKey] = set.keys;
    const path = join(dir, `${alg}.safetensors`);
    await saveFile(
      path,
      { w: { dtype: "F32", shape: [values.length], data: values } },
      { encryption: { encKey, signKey, chunkSize: 64 * 1024 } },
    );
    const { w } = await loadFile(path, { keys: set });
    const back = new Float32Array(w.data.buffer, w.data.byteOffset, w.data.byteLength / 4);
    assert.deepEqual(back, values);
    console.log(`arm64 ${alg}: ${values.byteLength} bytes round-tripped natively`);
  }
  console.log(
    JSON.stringify({
      arch: process.arch,
      backend: backendName(),
      openssl: info.openssl,
      platform: info.opensslPlatform,
      aesGcmEngine: info.aesGcmEngine,
      ipsecMbBuilt: info.ipsecMbBuilt,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
