// Jazzer.js target: the whole openFile path on a real file — prefix, header, reserved entries,
// key lookup, signature, policy, unwrap — then every tensor read and decrypted, alternating the
// native and the TypeScript backends. Keys come from CT_FUZZ_KEYS (written by seeds.ts), so the
// seeds are valid encrypted files and mutations reach the checks behind the signature only when
// they keep it valid; the mutations that break it exercise everything in front of it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CryptoTensorsError } from "../../src/errors.js";
import { loadNativeBinding } from "../../src/native/addon.js";
import { openFile } from "../../src/reader/open-file.js";
import { readSeedKeys } from "./seeds.js";

const keysFile = process.env["CT_FUZZ_KEYS"];
if (!keysFile) throw new TypeError("CT_FUZZ_KEYS must name the keys.json written by seeds.js");
const keys = readSeedKeys(keysFile);
// Half the runs use the native backend: it must really load, or ERR_NATIVE_UNAVAILABLE (a typed
// error) would silently turn those runs into no-ops.
loadNativeBinding();
const dir = mkdtempSync(join(tmpdir(), "ct-fuzz-open-"));
const path = join(dir, "input.safetensors");
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

/**
 * The fuzz entry point: writes `data` to a file, opens it with the seed keys and reads it whole.
 *
 * @example
 * ```ts
 * await fuzz(readFileSync("corpus/aes256gcm-v2.safetensors"));
 * ```
 */
export async function fuzz(data: Buffer): Promise<void> {
  writeFileSync(path, data);
  const backend = runs++ % 2 === 0 ? "native" : "fallback";
  try {
    const file = await openFile(path, { keys, backend });
    try {
      let total = 0;
      for (const name of file.names()) {
        const tensor = await file.getTensor(name);
        total += tensor.data.length;
      }
      // Reads never hand back more bytes than the file holds.
      if (total > data.length)
        throw new Error(`read ${total} bytes from a ${data.length}-byte file`);
    } finally {
      await file.close();
    }
  } catch (error) {
    if (!(error instanceof CryptoTensorsError)) throw error;
  }
}
