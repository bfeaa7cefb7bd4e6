// A short load/decrypt scenario for valgrind memcheck (scripts/sanitize.sh): every native entry
// point once on its success path and once on a failure path (wrong tag, truncated file, closed
// handle, close with reads in flight). Small on purpose: node under valgrind runs ~50x slower.
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CryptoTensorsError } from "../../src/errors.js";
import { generateKeySet } from "../../src/keys/keyring.js";
import { openFile } from "../../src/reader/open-file.js";
import { saveFile } from "../../src/writer/save-file.js";

async function expectCode(work: Promise<unknown>, code: string): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (error instanceof CryptoTensorsError && error.code === code) return;
    throw error;
  }
  throw new Error(`expected ${code}`);
}

/**
 * Runs the scenario; resolves when every step behaved.
 *
 * @example
 * ```ts
 * await runScenario();
 * ```
 */
export async function runScenario(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ct-valgrind-"));
  try {
    const [encKey, signKey] = generateKeySet({ encKid: "e", signKid: "s" }).keys;
    const keys = { keys: [encKey, signKey] };
    const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const tensors = {
      w: { dtype: "U8" as const, shape: [5000], data },
      e: { dtype: "U8" as const, shape: [0], data: new Uint8Array(0) },
    };
    const v2 = join(dir, "v2.safetensors");
    const v1 = join(dir, "v1.safetensors");
    const plain = join(dir, "plain.safetensors");
    await saveFile(v2, tensors, { encryption: { encKey, signKey, chunkSize: 1024 } });
    await saveFile(v1, tensors, { encryption: { encKey, signKey, version: "1" } });
    await saveFile(plain, tensors);

    for (const path of [v2, v1, plain]) {
      const file = await openFile(path, { keys, backend: "native" });
      const whole = await file.getTensor("w");
      if (Buffer.compare(Buffer.from(whole.data), Buffer.from(data)) !== 0)
        throw new Error(`${path}: wrong bytes`);
      const part = new Uint8Array(100);
      await file.readRange("w", 1500, 1600, part);
      await file.getTensor("e");
      // Close with reads in flight: the close waits for them.
      const pending = [file.getTensor("w"), file.getTensor("w")];
      await file.close();
      await Promise.all(pending);
      await expectCode(file.getTensor("w"), "ERR_CLOSED");
    }

    // A flipped ciphertext byte: the tag check fails in the addon.
    const bytes = readFileSync(v2);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 1;
    const tampered = join(dir, "tampered.safetensors");
    writeFileSync(tampered, bytes);
    const file = await openFile(tampered, { keys, backend: "native" });
    await expectCode(file.getTensor("w"), "ERR_DECRYPTION_FAILED");
    await file.close();

    // Truncated after open: pread comes up short / the mapping faults.
    const shrinking = await openFile(v2, { keys, backend: "native" });
    truncateSync(v2, 200);
    await expectCode(shrinking.getTensor("w"), "ERR_FILE_TRUNCATED");
    await shrinking.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runScenario();
console.log("valgrind scenario: done");
