// The public write API: saveFile from tensors in memory; encryptFile and decryptFile between files.
import { type PathInput, toFilePath } from "../format/file-path.js";
import { stat } from "node:fs/promises";
import { CryptoTensorsError } from "../errors.js";
import { isDtype, type Dtype } from "../format/dtype.js";
import { tensorByteLength } from "../format/size.js";
import { openFile, type OpenOptions } from "../reader/open-file.js";
import { isRemoteUrl } from "../source/remote-url.js";
import { isReservedKey } from "../crypto/reserved.js";
import type { BackendChoice } from "../native/index.js";
import type { EncryptionOptions } from "./seal-plan.js";
import { writeModel, type Progress, type TensorSource } from "./write-model.js";

/** A tensor to save: dtype, shape and its little-endian row-major bytes. */
export interface TensorInput {
  dtype: Dtype;
  shape: readonly number[];
  data: ArrayBufferView | ArrayBuffer;
}

export interface SaveOptions {
  /** User metadata (string → string), stored sorted in `__metadata__`. */
  metadata?: Readonly<Record<string, string>>;
  /** Encrypt and sign: see {@link EncryptionOptions}. Without it a plain safetensors file is written. */
  encryption?: EncryptionOptions;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Backend that seals the data; default the native addon, or node:crypto (with one warning) if it cannot load. */
  backend?: BackendChoice;
}

/**
 * Writes tensors to `path` atomically (temporary file, then rename), byte-identical to the
 * reference writer for the same input and random draws.
 *
 * @example
 * ```ts
 * await saveFile("model.safetensors", {
 *   bias: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
 * }, { metadata: { format: "pt" }, encryption: { encKey, signKey } });
 * ```
 */
export async function saveFile(
  pathInput: PathInput,
  tensors: Readonly<Record<string, TensorInput>> | ReadonlyMap<string, TensorInput>,
  options: SaveOptions = {},
): Promise<void> {
  const path = toFilePath(pathInput);
  if (typeof path !== "string" || path.length === 0)
    throw new TypeError("path must be a non-empty string");
  if (tensors === null || typeof tensors !== "object")
    throw new TypeError("tensors must be an object or a Map of name → { dtype, shape, data }");
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const sources = entries.map(([name, tensor]) => memorySource(name, tensor));
  await writeModel(path, sources, {
    metadata: userMetadata(options.metadata),
    ...(options.encryption ? { encryption: options.encryption } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
}

export interface ConvertOptions {
  /** Options for opening the input (keys to decrypt it, …); its `backend` defaults to `backend` below. */
  input?: OpenOptions;
  /** Encryption of the output; omit to write plain safetensors. */
  encryption?: EncryptionOptions;
  /** User metadata of the output, given the input's (reserved entries already removed); default: kept as is. */
  metadata?: (input: Readonly<Record<string, string>>) => Record<string, string>;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Backend that reads the input and seals the output; default the native addon, or node:crypto if it cannot load. */
  backend?: BackendChoice;
}

/**
 * Rewrites a file tensor by tensor with bounded memory: plain → encrypted (`encryption` given),
 * encrypted → plain (omit it), or re-encrypted under new keys. User metadata is kept.
 *
 * @example
 * ```ts
 * await convertFile("model.safetensors", "model.ct.safetensors", { encryption: { encKey, signKey } });
 * ```
 */
export async function convertFile(
  inputPathInput: string | URL,
  outputPathInput: PathInput,
  options: ConvertOptions = {},
): Promise<void> {
  // An http(s) input is read remotely by openFile; a file: URL is a local path.
  const inputPath =
    inputPathInput instanceof URL && inputPathInput.protocol === "file:"
      ? toFilePath(inputPathInput)
      : inputPathInput;
  const outputPath = toFilePath(outputPathInput);
  const backend = options.backend;
  const input = await openFile(inputPath, {
    ...(backend === undefined ? {} : { backend }),
    ...options.input,
  });
  try {
    const sources: TensorSource[] = input.names().map((name) => {
      const info = input.info(name);
      const entry = { name, dtype: info.dtype, shape: info.shape };
      const offset = input.readSealOffset(name);
      return {
        ...entry,
        ...(offset === null ? {} : { sealedRead: { file: input, offset } }),
        read: async (start, end, scratch) => {
          const view = scratch.subarray(0, end - start);
          await input.readRange(name, start, end, view);
          return view;
        },
      };
    });
    const metadata = options.metadata
      ? (userMetadata(options.metadata(input.metadata())) ?? [])
      : Object.entries(input.metadata());
    await writeModel(outputPath, sources, {
      // An empty `__metadata__` is kept for plain inputs; for encrypted ones it held only reserved entries.
      ...(metadata.length > 0 || (input.hasMetadata() && !input.encryption()) ? { metadata } : {}),
      ...(options.encryption ? { encryption: options.encryption } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(backend === undefined ? {} : { backend }),
      // The output is never more readable than the input: a 0600 model decrypts to a 0600 file.
      mode: 0o644 & (await inputMode(inputPath)),
    });
  } finally {
    await input.close();
  }
}

async function inputMode(path: string | URL): Promise<number> {
  // A remote input has no mode here: the output is private to its owner.
  if (isRemoteUrl(path)) return 0o600;
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return 0o600;
  }
}

function memorySource(name: string, tensor: TensorInput): TensorSource {
  if (typeof name !== "string" || name.length === 0)
    throw new TypeError("tensor names must be non-empty strings");
  if (name === "__metadata__")
    throw new TypeError('"__metadata__" is reserved and cannot name a tensor');
  if (tensor === null || typeof tensor !== "object")
    throw new TypeError(`tensor ${JSON.stringify(name)} must be { dtype, shape, data }`);
  if (typeof tensor.dtype !== "string" || !isDtype(tensor.dtype)) {
    throw new TypeError(
      `tensor ${JSON.stringify(name)} has unknown dtype ${JSON.stringify(tensor.dtype)}`,
    );
  }
  if (
    !Array.isArray(tensor.shape) ||
    !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new TypeError(`tensor ${JSON.stringify(name)} needs a shape of non-negative integers`);
  }
  const data = bytesOf(tensor.data, name);
  const expected = tensorByteLength(tensor.dtype, tensor.shape);
  if (data.length !== expected) {
    throw new CryptoTensorsError(
      "ERR_INVALID_TENSOR",
      `tensor ${JSON.stringify(name)} has ${data.length} bytes of data but ${tensor.dtype} ${JSON.stringify(tensor.shape)} needs ${expected}`,
    );
  }
  return {
    name,
    dtype: tensor.dtype,
    shape: tensor.shape,
    read: async (start, end) => data.subarray(start, end),
    inMemory: true,
  };
}

function bytesOf(data: unknown, name: string): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(
    `tensor ${JSON.stringify(name)}: data must be an ArrayBuffer or a TypedArray`,
  );
}

function userMetadata(
  metadata: Readonly<Record<string, string>> | undefined,
): Array<[string, string]> | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== "object")
    throw new TypeError("metadata must be an object of string values");
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) {
    if (typeof value !== "string")
      throw new TypeError(`metadata ${JSON.stringify(key)} must be a string`);
    if (isReservedKey(key)) {
      throw new TypeError(
        `metadata key ${key} is reserved for CryptoTensors; use the encryption option instead`,
      );
    }
  }
  return entries;
}
