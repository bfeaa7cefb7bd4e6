// Builds hostile files from valid ones: saveFile with generated keys, then the header JSON is
// edited and RE-SIGNED with the file's own signing key, so that an attack gets past the
// signature and reaches the check that must stop it.
import { tempDir } from "../support/temp-dir.js";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { signaturePayload, signPayload, type SignedTensor } from "../../src/crypto/signature.js";
import { generateKeySet } from "../../src/keys/keyring.js";
import { saveFile, type TensorInput } from "../../src/writer/save-file.js";

export type Jwk = Record<string, string>;
/** A header as JSON.parse sees it: `__metadata__` of strings, tensors of dtype/shape/offsets. */
export type HeaderObject = Record<string, unknown> & { __metadata__?: Record<string, string> };

export interface Crafted {
  path: string;
  bytes: Buffer;
  keySet: { keys: Jwk[] };
  signKey: Jwk;
}

/** A temporary directory removed after the test file. */
export function scratchDir(prefix = "ct-adv-"): string {
  return tempDir(prefix);
}

let serial = 0;
/** A fresh path in `dir`. */
export function freshPath(dir: string, name = "f"): string {
  return join(dir, `${name}-${serial++}.safetensors`);
}

/** The two tensors every crafted file holds: 40 bytes (5 chunks of 8) and 3 floats. */
export function sampleTensors(): Record<string, TensorInput> {
  return {
    weight: { dtype: "U8", shape: [5, 8], data: Uint8Array.from({ length: 40 }, (_, i) => i * 3) },
    bias: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) },
  };
}

/**
 * An encrypted file (v2 with 8-byte chunks unless told otherwise) with freshly generated keys.
 *
 * @example
 * ```ts
 * const { path, keySet } = await encryptedFile(dir, { version: "1" });
 * ```
 */
export async function encryptedFile(
  dir: string,
  options: {
    version?: "1" | "2";
    chunkSize?: number;
    policy?: string;
    alg?: "aes256gcm" | "aes128gcm" | "chacha20poly1305";
  } = {},
): Promise<Crafted> {
  const keySet = generateKeySet({
    alg: options.alg ?? "aes256gcm",
    encKid: "enc-1",
    signKid: "sign-1",
  });
  const [encKey, signKey] = keySet.keys;
  const path = freshPath(dir, "enc");
  const version = options.version ?? "2";
  await saveFile(path, sampleTensors(), {
    metadata: { format: "pt" },
    encryption: {
      encKey,
      signKey,
      version,
      ...(version === "2" ? { chunkSize: options.chunkSize ?? 8 } : {}),
      ...(options.policy === undefined ? {} : { policy: { local: options.policy } }),
    },
  });
  return { path, bytes: readFileSync(path), keySet: { keys: [...keySet.keys] }, signKey };
}

/** Splits a file into its header text and its data section. */
export function splitFile(bytes: Uint8Array): { headerText: string; data: Buffer } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(buffer.readBigUInt64LE(0));
  return {
    headerText: buffer.subarray(8, 8 + length).toString("utf8"),
    data: buffer.subarray(8 + length),
  };
}

/** Prefix + header text + data. `declaredLength` overrides the prefix (for length attacks). */
export function assemble(headerText: string, data: Uint8Array, declaredLength?: bigint): Buffer {
  const header = Buffer.from(headerText, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(header.length));
  return Buffer.concat([prefix, header, data]);
}

/** The tensors of a header object in signing order (begin, end, header index: FORMAT.md §4.4). */
function signedTensors(header: HeaderObject): SignedTensor[] {
  const tensors = Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, value], index) => {
      const t = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
      return {
        index,
        signed: { name, dtype: t.dtype, shape: t.shape, dataOffsets: t.data_offsets },
      };
    });
  tensors.sort(
    (a, b) =>
      a.signed.dataOffsets[0] - b.signed.dataOffsets[0] ||
      a.signed.dataOffsets[1] - b.signed.dataOffsets[1] ||
      a.index - b.index,
  );
  return tensors.map((t) => t.signed);
}

/** Sets `__metadata__.__signature__` to a valid signature of the header by `signKey`. */
export function resign(header: HeaderObject, signKey: Jwk): void {
  const metadata = header.__metadata__ ?? {};
  const payload = signaturePayload(Object.entries(metadata), signedTensors(header));
  const seed = Buffer.from(signKey["d"] as string, "base64");
  metadata["__signature__"] = signPayload(payload, seed);
  seed.fill(0);
}

/**
 * Writes a copy of `file` whose header went through `edit` (on the JSON.parse'd object) and,
 * unless `resign: false`, was signed again. Returns the new path.
 *
 * @example
 * ```ts
 * const path = rewrite(dir, file, (h) => { h.__metadata__!.__policy__ = "…"; });
 * ```
 */
export function rewrite(
  dir: string,
  file: Crafted,
  edit: (header: HeaderObject) => void,
  options: { resign?: boolean } = {},
): string {
  const { headerText, data } = splitFile(file.bytes);
  const header = JSON.parse(headerText) as HeaderObject;
  edit(header);
  if (options.resign !== false && header.__metadata__) resign(header, file.signKey);
  const path = freshPath(dir, "edited");
  writeFileSync(path, assemble(JSON.stringify(header), data));
  return path;
}

/** Parses a reserved entry's JSON, lets `edit` change it, and stores it back as text. */
// biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary JSON shapes of reserved entries
type AnyJson = Record<string, any>;

export function editReserved(
  header: HeaderObject,
  key: string,
  edit: (value: AnyJson) => void,
): void {
  const metadata = header.__metadata__ as Record<string, string>;
  const value = JSON.parse(metadata[key] as string) as AnyJson;
  edit(value);
  metadata[key] = JSON.stringify(value);
}
