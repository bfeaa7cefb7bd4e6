// Shared helpers of the key management tests (issue 4): an encrypted model, hashes, error codes.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { CryptoTensorsError, generateKeys, saveFile, type ErrorCode } from "../../src/index.js";
import { randomTensor } from "../integration/helpers.js";

export type Jwks = { keys: [Record<string, string>, Record<string, string>] };

/** A fresh key set with kids. */
export function keySet(
  tag: string,
  alg: "aes256gcm" | "aes128gcm" | "chacha20poly1305" = "aes256gcm",
): Jwks {
  return generateKeys({ alg, encKid: `enc-${tag}`, signKid: `sign-${tag}` });
}

/** The public (verification) half of a key set's signing key. */
export function publicOf(keys: Jwks): Record<string, string> {
  const { d: _secret, ...rest } = keys.keys[1];
  return rest;
}

/** Saves a three-tensor encrypted model and returns its tensors. */
export async function saveModel(
  path: string,
  keys: Jwks,
  options: {
    version?: "1" | "2";
    chunkSize?: number;
    policy?: { local?: string; remote?: string };
  } = {},
) {
  const tensors = {
    weight: randomTensor(40_000, "F32"),
    bias: randomTensor(64, "F16"),
    empty: { dtype: "U8" as const, shape: [0], data: new Uint8Array(0) },
  };
  await saveFile(path, tensors, {
    metadata: { format: "pt", note: "rewrap me" },
    encryption: {
      encKey: keys.keys[0],
      signKey: keys.keys[1],
      ...(options.version ? { version: options.version } : {}),
      ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
    },
  });
  return tensors;
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The data section of a safetensors file (everything after 8 + N). */
export function dataSection(path: string): Buffer {
  const file = readFileSync(path);
  return file.subarray(8 + Number(file.readBigUInt64LE(0)));
}

/** Awaits `promise` and checks it rejects with a CryptoTensorsError of `code`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
): Promise<CryptoTensorsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(CryptoTensorsError);
  expect((error as CryptoTensorsError).code, (error as Error).message).toBe(code);
  return error as CryptoTensorsError;
}
