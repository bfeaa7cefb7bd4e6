// Writes the seed corpus of the fuzz targets: valid plain and encrypted files made by saveFile
// with freshly generated keys (v1 and v2, every algorithm, tiny chunks so that chunk logic runs),
// and the key set the open-file target unlocks them with.
//   node .cache/fuzz-build/test/fuzz/seeds.js <corpusDir> <keysFile>
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeySet } from "../../src/keys/keyring.js";
import { saveFile, type TensorInput } from "../../src/writer/save-file.js";

type Jwk = Record<string, string>;

/** The tensors every seed holds: several dtypes, an empty tensor, odd lengths. */
function seedTensors(): Record<string, TensorInput> {
  return {
    bias: { dtype: "F32", shape: [3], data: new Float32Array([1, -2, 0.5]) },
    empty: { dtype: "U8", shape: [0], data: new Uint8Array(0) },
    weight: { dtype: "U8", shape: [5, 7], data: Uint8Array.from({ length: 35 }, (_, i) => i) },
  };
}

/**
 * Writes the seeds into `corpusDir` and the keys (a JWK set holding every master key and the
 * signing key) into `keysFile`. Returns the number of seed files.
 *
 * @example
 * ```ts
 * await writeSeeds(".cache/fuzz/corpus-open", ".cache/fuzz/keys.json");
 * ```
 */
export async function writeSeeds(corpusDir: string, keysFile: string): Promise<number> {
  rmSync(corpusDir, { recursive: true, force: true });
  mkdirSync(corpusDir, { recursive: true });
  const keys: Jwk[] = [];
  let count = 0;
  const save = async (name: string, options: Parameters<typeof saveFile>[2]): Promise<void> => {
    await saveFile(join(corpusDir, name), seedTensors(), options);
    count++;
  };
  await save("plain.safetensors", { metadata: { format: "pt" } });
  for (const alg of ["aes256gcm", "aes128gcm", "chacha20poly1305"] as const) {
    // One key set per algorithm, told apart by kid so the target's key ring finds the right one.
    const [encKey, signKey] = generateKeySet({
      alg,
      encKid: `enc-${alg}`,
      signKid: `sign-${alg}`,
    }).keys;
    keys.push(encKey, signKey);
    await save(`${alg}-v2.safetensors`, {
      metadata: { format: "pt" },
      encryption: { encKey, signKey, chunkSize: 8 },
    });
    await save(`${alg}-v1.safetensors`, { encryption: { encKey, signKey, version: "1" } });
    await save(`${alg}-partial.safetensors`, {
      encryption: { encKey, signKey, tensors: ["weight"], chunkSize: 16 },
    });
  }
  writeFileSync(keysFile, JSON.stringify({ keys }));
  // For the header target, whose first byte routes the rest of the input to the parser of
  // __crypto_keys__ (0), __encryption__ (1), __policy__ (2) or a JWK set (3): one valid text each.
  const file = readFileSync(join(corpusDir, "aes256gcm-v2.safetensors"));
  const header = JSON.parse(
    file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString("utf8"),
  ) as { __metadata__: Record<string, string> };
  const texts = [
    header.__metadata__["__crypto_keys__"],
    header.__metadata__["__encryption__"],
    header.__metadata__["__policy__"],
    JSON.stringify({ keys }),
  ];
  texts.forEach((text, route) =>
    writeFileSync(
      join(corpusDir, `route-${route}.seed`),
      Buffer.concat([Buffer.of(route), Buffer.from(text ?? "")]),
    ),
  );
  return count + texts.length;
}

/** Reads the key set written by {@link writeSeeds}. */
export function readSeedKeys(keysFile: string): { keys: Jwk[] } {
  return JSON.parse(readFileSync(keysFile, "utf8")) as { keys: Jwk[] };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"))) {
  const [corpusDir, keysFile] = process.argv.slice(2);
  if (!corpusDir || !keysFile) throw new TypeError("usage: seeds.js <corpusDir> <keysFile>");
  const count = await writeSeeds(corpusDir, keysFile);
  console.log(`wrote ${count} seed files to ${corpusDir}`);
}
