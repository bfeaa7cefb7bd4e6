// `verifyFile(path, { data: true })` / `cryptotensors verify --data`: authenticates every tensor
// of an opened file, not only its header. Each encrypted chunk (or v1 tensor) is decrypted into a
// scratch buffer that is wiped right after its tag has been checked, and each plaintext tensor
// with a signed digest is hashed; nothing is written anywhere. Memory stays bounded: chunked
// tensors go through in pieces of about 8 MiB; v1 tensors and digested plaintext tensors need
// one scratch buffer of their own size (their authentication covers the whole tensor).
import { CryptoTensorsError } from "../errors.js";
import type { TensorFile } from "./tensor-file.js";

const PIECE = 8 * 1024 * 1024;

/** What {@link authenticateData} checked. */
export interface DataCheck {
  /** Tensors whose bytes were authenticated (AEAD tags, or signed SHA-256 for plaintext). */
  tensorsAuthenticated: number;
  /** Plaintext tensors with no signed digest: nothing authenticates their bytes. */
  unauthenticated: string[];
  bytesChecked: number;
}

/** Options of {@link authenticateData}. */
export interface DataCheckOptions {
  onProgress?: (progress: { tensor: string; bytesDone: number; bytesTotal: number }) => void;
  signal?: AbortSignal;
}

/**
 * @internal Reads every tensor of `file` through its checks, keeping no plaintext.
 *
 * @example
 * ```ts
 * const check = await authenticateData(await openFile(path, { keys }));
 * ```
 */
export async function authenticateData(
  file: TensorFile,
  options: DataCheckOptions = {},
): Promise<DataCheck> {
  const chunkSize = file.encryption()?.chunkSize ?? null;
  const names = file.names();
  const bytesTotal = names.reduce((sum, name) => sum + file.info(name).byteLength, 0);
  const check: DataCheck = { tensorsAuthenticated: 0, unauthenticated: [], bytesChecked: 0 };
  for (const name of names) {
    if (options.signal?.aborted)
      throw new CryptoTensorsError("ERR_ABORTED", `verifying ${file.path} was aborted`, {
        cause: options.signal.reason,
      });
    const info = file.info(name);
    if (!info.encrypted && !file.plaintextAuthenticated(name)) {
      check.unauthenticated.push(name);
      continue;
    }
    if (info.encrypted && chunkSize !== null && info.byteLength > 0) {
      const step = Math.max(chunkSize, Math.floor(PIECE / chunkSize) * chunkSize);
      const scratch = new Uint8Array(Math.min(step, info.byteLength));
      try {
        for (let start = 0; start < info.byteLength; start += step) {
          const end = Math.min(info.byteLength, start + step);
          await file.readRange(name, start, end, scratch.subarray(0, end - start));
        }
      } finally {
        scratch.fill(0);
      }
    } else {
      const scratch = new Uint8Array(info.byteLength);
      try {
        await file.getTensor(name, { into: scratch });
      } finally {
        scratch.fill(0);
      }
    }
    check.tensorsAuthenticated++;
    check.bytesChecked += info.byteLength;
    options.onProgress?.({ tensor: name, bytesDone: check.bytesChecked, bytesTotal });
  }
  return check;
}
