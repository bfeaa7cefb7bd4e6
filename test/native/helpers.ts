// Test fixtures for the backends: temporary files and an independent encryptor (node:crypto)
// that produces chunked (v2) and whole (v1) ciphertexts as FORMAT.md §3.3–§3.4 describe.
import { createCipheriv, randomBytes, type CipherGCM, type CipherGCMTypes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { scratchDir } from "../support/temp-dir.js";
import { join } from "node:path";
import type { AeadAlgorithm, DecryptRequest } from "../../src/native/backend.js";

export const ALGORITHMS: AeadAlgorithm[] = ["aes128gcm", "aes256gcm", "chacha20poly1305"];
const NAMES: Record<AeadAlgorithm, string> = {
  aes128gcm: "aes-128-gcm",
  aes256gcm: "aes-256-gcm",
  chacha20poly1305: "chacha20-poly1305",
};
export const KEY_BYTES: Record<AeadAlgorithm, number> = {
  aes128gcm: 16,
  aes256gcm: 32,
  chacha20poly1305: 32,
};

/** A temporary directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  return scratchDir("ct-native-");
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function seal(
  algorithm: AeadAlgorithm,
  key: Uint8Array,
  iv: Uint8Array,
  plain: Uint8Array,
): { ct: Buffer; tag: Buffer } {
  const cipher = createCipheriv(NAMES[algorithm] as CipherGCMTypes, key, iv, {
    authTagLength: 16,
  }) as CipherGCM;
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { ct, tag: cipher.getAuthTag() };
}

/** IV of absolute chunk `index` computed with BigInt, independently of the code under test. */
export function chunkIvOf(baseIv: Uint8Array, index: number): Uint8Array {
  const iv = Uint8Array.from(baseIv);
  const counter =
    (BigInt(new DataView(iv.buffer).getUint32(8, false)) + BigInt(index)) & 0xffffffffn;
  new DataView(iv.buffer).setUint32(8, Number(counter), false);
  return iv;
}

export interface Sealed {
  /** Ciphertext of the whole tensor. */
  ciphertext: Buffer;
  /** One 16-byte tag per chunk (or one for whole). */
  tags: Buffer;
}

/** Encrypts a whole tensor: chunkSize 0 = v1 (one AEAD), else v2 chunks starting at chunk 0. */
export function encryptTensor(
  algorithm: AeadAlgorithm,
  key: Uint8Array,
  baseIv: Uint8Array,
  plain: Uint8Array,
  chunkSize: number,
): Sealed {
  if (chunkSize === 0) {
    const { ct, tag } = seal(algorithm, key, baseIv, plain);
    return { ciphertext: ct, tags: tag };
  }
  const parts: Buffer[] = [];
  const tags: Buffer[] = [];
  const n = plain.length === 0 ? 1 : Math.ceil(plain.length / chunkSize);
  for (let i = 0; i < n; i++) {
    const { ct, tag } = seal(
      algorithm,
      key,
      chunkIvOf(baseIv, i),
      plain.subarray(i * chunkSize, (i + 1) * chunkSize),
    );
    parts.push(ct);
    tags.push(tag);
  }
  return { ciphertext: Buffer.concat(parts), tags: Buffer.concat(tags) };
}

export interface Fixture {
  path: string;
  plain: Buffer;
  sealed: Sealed;
  key: Buffer;
  baseIv: Buffer;
  /** File offset of the ciphertext (a random-length prefix precedes it). */
  dataStart: number;
}

/** Writes `prefix ‖ ciphertext ‖ suffix` to a file in `dir`. */
export function writeEncrypted(
  dir: string,
  name: string,
  algorithm: AeadAlgorithm,
  length: number,
  chunkSize: number,
  baseIv?: Buffer,
): Fixture {
  const plain = randomBytes(length);
  const key = randomBytes(KEY_BYTES[algorithm]);
  const iv = baseIv ?? randomBytes(12);
  const sealed = encryptTensor(algorithm, key, iv, plain, chunkSize);
  const prefix = randomBytes(1 + (length % 13));
  const path = writeTemp(dir, name, Buffer.concat([prefix, sealed.ciphertext, randomBytes(7)]));
  return { path, plain, sealed, key, baseIv: iv, dataStart: prefix.length };
}

/** The request for chunks [firstChunk, firstChunk + count) of a v2 fixture (whole range for v1). */
export function requestFor(
  f: Fixture,
  algorithm: AeadAlgorithm,
  chunkSize: number,
  firstChunk = 0,
  count?: number,
): DecryptRequest {
  if (chunkSize === 0) {
    return {
      algorithm,
      key: f.key,
      fileOffset: f.dataStart,
      length: f.plain.length,
      chunkSize: 0,
      firstChunk: 0,
      baseIv: f.baseIv,
      tags: f.sealed.tags,
    };
  }
  const total = f.plain.length === 0 ? 1 : Math.ceil(f.plain.length / chunkSize);
  const n = count ?? total - firstChunk;
  const start = Math.min(firstChunk * chunkSize, f.plain.length);
  const end = Math.min((firstChunk + n) * chunkSize, f.plain.length);
  return {
    algorithm,
    key: f.key,
    fileOffset: f.dataStart + start,
    length: end - start,
    chunkSize,
    firstChunk,
    baseIv: f.baseIv,
    tags: f.sealed.tags.subarray(firstChunk * 16, (firstChunk + Math.max(n, 1)) * 16),
  };
}
