// Describes a file from its header alone, without keys: nothing here is verified, so it is for
// display and diagnostics, never for trust decisions.
import { fileURLToPath } from "node:url";
import { isReservedKey, parseCryptoKeys, parseEncryption } from "../crypto/reserved.js";
import type { Dtype } from "../format/dtype.js";
import { getBackend } from "../native/index.js";
import type { RemoteOptions } from "../source/http-source.js";
import { isRemoteUrl } from "../source/remote-url.js";
import { resolveTarget } from "../source/resolve-target.js";
import { readHeader } from "./open-file.js";
import { reservedEntries } from "./unlock.js";

export interface FileDescription {
  path: string;
  /** Size of the whole file in bytes (for a URL: as the server reported it). */
  fileSize: number;
  /** Always false: inspectFile checks no signature. Use verifyFile or openFile for that. */
  verified: false;
  metadata: Record<string, string>;
  encryption: {
    version: "1" | "2";
    algorithm: string;
    chunkSize: number | null;
    encKeyId?: string;
    encJku?: string;
    signKeyId?: string;
    signJku?: string;
  } | null;
  /** The embedded Rego policies (`__policy__`), unverified; null when the file carries none. */
  policy: { local: string | null; remote: string | null } | null;
  tensors: Array<{
    name: string;
    dtype: Dtype;
    shape: number[];
    dataOffsets: [number, number];
    byteLength: number;
    encrypted: boolean;
  }>;
}

/** The `__policy__` entry's two policies, or null when absent or not the JSON object it must be. */
function describePolicy(text: string | undefined): FileDescription["policy"] {
  if (text === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const side = (key: string) => {
    const policy = (value as Record<string, unknown>)[key];
    return typeof policy === "string" ? policy : null;
  };
  return { local: side("local"), remote: side("remote") };
}

/**
 * Reads and validates the header (of a local file or an http(s) URL), and describes the tensors and the (unverified) encryption.
 *
 * @example
 * ```ts
 * const { tensors, encryption } = await inspectFile("model.safetensors");
 * ```
 */
export async function inspectFile(
  target: string | URL,
  options: { remote?: RemoteOptions } = {},
): Promise<FileDescription> {
  if (target instanceof URL && target.protocol === "file:") target = fileURLToPath(target);
  if (!isRemoteUrl(target) && (typeof target !== "string" || (target as string).length === 0))
    throw new TypeError("path must be a non-empty string or an http(s) URL");
  const resolved = await resolveTarget(target, options.remote);
  const path = typeof resolved === "string" ? resolved : resolved.identity.name;
  const file = await getBackend().open(resolved);
  try {
    const header = await readHeader(file);
    const reserved = reservedEntries(header);
    const encryptionText = reserved.get("__encryption__");
    const cryptoKeysText = reserved.get("__crypto_keys__");
    const encrypted =
      encryptionText !== undefined && cryptoKeysText !== undefined
        ? new Set(parseEncryption(encryptionText).keys())
        : new Set<string>();
    const keys =
      encryptionText !== undefined && cryptoKeysText !== undefined
        ? parseCryptoKeys(cryptoKeysText)
        : null;
    const metadata: Record<string, string> = Object.create(null);
    for (const [key, value] of header.metadata ?? [])
      if (!isReservedKey(key)) metadata[key] = value;
    return {
      path,
      fileSize: file.size,
      verified: false,
      policy: describePolicy(reserved.get("__policy__")),
      metadata,
      encryption: keys && {
        version: keys.version,
        algorithm: keys.enc.alg,
        chunkSize: keys.chunkSize,
        ...(keys.enc.kid === undefined ? {} : { encKeyId: keys.enc.kid }),
        ...(keys.enc.jku === undefined ? {} : { encJku: keys.enc.jku }),
        ...(keys.sign.kid === undefined ? {} : { signKeyId: keys.sign.kid }),
        ...(keys.sign.jku === undefined ? {} : { signJku: keys.sign.jku }),
      },
      tensors: header.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape.slice(),
        dataOffsets: [t.dataOffsets[0], t.dataOffsets[1]],
        byteLength: t.dataOffsets[1] - t.dataOffsets[0],
        encrypted: encrypted.has(t.name),
      })),
    };
  } finally {
    await file.close();
  }
}
