// Typed wrappers around the test/interop/py/ref_*.py scripts, which drive the real reference
// package (`cryptotensors==0.2.3`, numpy framework). The scripts never throw for a reference
// failure: they answer `{ ok: false, error: { type, message, stage } }`, so tests can assert on the
// reference's exception class and message. See docs/reference-behaviour.md for what they mean.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import { runPython } from "./python-env.js";

/** A JWK in the reference's form: lowercase `kty`, standard base64 (with `=`) `k`/`x`/`d`. */
export interface RefJwk {
  kty: "oct" | "okp";
  alg: string;
  kid?: string;
  jku?: string;
  /** Secret key of an `oct` (master) key. */
  k?: string;
  /** Ed25519 public key of an `okp` key. */
  x?: string;
  /** Ed25519 32-byte seed of an `okp` key. */
  d?: string;
}

/** A JWK set `{"keys": [...]}` as read by the reference's providers. */
export interface RefJwks {
  keys: RefJwk[];
}

/** One tensor as the scripts exchange it: safetensors dtype name, element shape, data as hex. */
export interface RefTensor {
  dtype: string;
  shape: number[];
  hex: string;
}

/** `__policy__` sources; a missing side gets the reference default `package model\nallow = true`. */
export interface RefPolicy {
  local?: string;
  remote?: string;
}

/** The reference's save config (FORMAT.md §7.1), passed to it verbatim. */
export interface RefWriteConfig {
  enc_key?: RefJwk;
  sign_key?: RefJwk;
  enc_kid?: string;
  enc_jku?: string;
  sign_kid?: string;
  sign_jku?: string;
  /** "1" or "2"; anything else makes the reference fail (`UnsupportedVersion`). */
  version?: string;
  chunk_size?: number;
  /** Names of the tensors to encrypt (default all); unknown names are ignored. */
  tensors?: string[];
  policy?: RefPolicy;
}

/** Request of {@link refWrite}. */
export interface RefWriteRequest {
  path: string;
  tensors: Record<string, RefTensor>;
  metadata?: Record<string, string>;
  config?: RefWriteConfig;
  /** Registered with `register_direct_key_provider` before saving (registry key lookup). */
  register_keys?: RefJwks | RefJwk[];
  /** `serialize_file` (default) or `serialize` (bytes written by the script). */
  api?: "serialize_file" | "serialize";
}

/** Request of {@link refRead}. */
export interface RefReadRequest {
  path: string;
  keys?: RefJwks | RefJwk[];
  /** How keys reach the reference: config on safe_open (default), registry, CRYPTOTENSOR_KEYS, none. */
  via?: "direct" | "registry" | "env" | "none";
  /** `safe_open` (default, raises on bad tags) or `deserialize` (returns ciphertext on bad tags). */
  api?: "safe_open" | "deserialize";
  /** With via "direct": choose the key of this kid instead of the first oct/okp key. */
  enc_kid?: string;
  sign_kid?: string;
  /** Tensors to read (default all, offset order). */
  tensors?: string[];
  /** Read `get_slice(name)[ranges]`; a range is `[start, stop]` or a single index. */
  slice?: { name: string; ranges: Array<[number, number] | number> };
}

/** Request of {@link refRewrap}. */
export interface RefRewrapRequest {
  path: string;
  new_keys: RefJwks | RefJwk[];
  /** Keys to open the file with (direct); absent → the reference's registry/env lookup. */
  old_keys?: RefJwks | RefJwk[];
  policy?: RefPolicy;
  enc_kid?: string;
  sign_kid?: string;
  /** Merged over the config built from `new_keys`. */
  new_config?: Partial<RefWriteConfig>;
}

/** The reference's exception: class name, `str(exc)`, and the step that raised it. */
export interface RefError {
  type: string;
  message: string;
  stage: "prepare" | "register" | "serialize" | "open" | "get_tensor" | "slice" | "rewrap";
}

export type RefResult<T> = ({ ok: true } & T) | { ok: false; error: RefError };

export interface RefReadOk {
  /** User metadata (keys without the `__` prefix). */
  metadata: Record<string, string>;
  /** Reserved metadata (`__crypto_keys__`, `__encryption__`, `__policy__`, `__signature__`). */
  reserved: Record<string, string>;
  tensors: Record<string, RefTensor>;
  slice?: { shape: number[]; hex: string };
}

/**
 * Writes a file with the reference package.
 *
 * @example
 * ```ts
 * const keys = makeRefKeys();
 * await refWrite({ path, tensors: { w: refTensor("F32", [1], Buffer.alloc(4)) },
 *   config: { enc_key: keys.keys[0], sign_key: keys.keys[1] } });
 * ```
 */
export function refWrite(request: RefWriteRequest): Promise<RefResult<{ size: number }>> {
  return runPython("ref_write.py", request);
}

/**
 * Loads a file with the reference package and returns its tensors as hex.
 *
 * @example
 * ```ts
 * const out = await refRead({ path, keys });
 * if (out.ok) console.log(out.tensors.w.hex);
 * ```
 */
export function refRead(
  request: RefReadRequest,
  env: NodeJS.ProcessEnv = {},
): Promise<RefResult<RefReadOk>> {
  return runPython("ref_read.py", request, env);
}

/**
 * Rewraps a file in place with the reference's `rewrap_file`.
 *
 * @example
 * ```ts
 * await refRewrap({ path, old_keys: keysA, new_keys: keysB });
 * ```
 */
export function refRewrap(request: RefRewrapRequest): Promise<RefResult<{ size: number }>> {
  return runPython("ref_rewrap.py", request);
}

/**
 * Returns the success payload or throws with the reference's error (class and message only:
 * the scripts never echo keys, and neither does this).
 *
 * @example
 * ```ts
 * const { tensors } = expectRefOk(refRead({ path, keys }));
 * ```
 */
export function expectRefOk<T>(result: RefResult<T>): T {
  if (!result.ok) {
    throw new Error(
      `reference failed at ${result.error.stage}: ${result.error.type}: ${result.error.message}`,
    );
  }
  return result;
}

/**
 * Returns the reference's error or throws if the call succeeded.
 *
 * @example
 * ```ts
 * expect(expectRefError(refRead({ path, keys: wrong })).message).toContain("Decryption");
 * ```
 */
export function expectRefError<T>(result: RefResult<T>): RefError {
  if (result.ok) throw new Error("reference call succeeded but an error was expected");
  return result.error;
}

/** Key lengths of the reference's three data algorithms (FORMAT.md §3.1). */
export const REF_ALGORITHMS = { aes128gcm: 16, aes256gcm: 32, chacha20poly1305: 32 } as const;
export type RefAlgorithm = keyof typeof REF_ALGORITHMS;

/**
 * Generates a fresh JWK set `{keys: [masterKey, signingKey]}` in the reference's form with
 * node:crypto (the reference package itself has no key generator).
 *
 * @example
 * ```ts
 * const { keys: [enc, sign] } = makeRefKeys({ alg: "chacha20poly1305", encKid: "e", signKid: "s" });
 * ```
 */
export function makeRefKeys(
  options: { alg?: RefAlgorithm; encKid?: string; signKid?: string } = {},
): RefJwks {
  const alg = options.alg ?? "aes256gcm";
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string")
    throw new Error("node did not export an Ed25519 JWK");
  const toStandard = (base64url: string): string =>
    Buffer.from(base64url, "base64url").toString("base64");
  return {
    keys: [
      {
        kty: "oct",
        alg,
        kid: options.encKid ?? "enc-1",
        k: randomBytes(REF_ALGORITHMS[alg]).toString("base64"),
      },
      {
        kty: "okp",
        alg: "ed25519",
        kid: options.signKid ?? "sign-1",
        x: toStandard(jwk.x),
        d: toStandard(jwk.d),
      },
    ],
  };
}

/**
 * Shorthand for a {@link RefTensor}.
 *
 * @example
 * ```ts
 * refTensor("F16", [2], Buffer.from("003c0040", "hex"));
 * ```
 */
export function refTensor(dtype: string, shape: number[], data: Uint8Array): RefTensor {
  return { dtype, shape, hex: Buffer.from(data).toString("hex") };
}

/**
 * The master key (`oct`) of a set made by {@link makeRefKeys}.
 *
 * @example
 * ```ts
 * const master = Buffer.from(masterKeyOf(keys).k ?? "", "base64");
 * ```
 */
export function masterKeyOf(set: RefJwks): RefJwk {
  const key = set.keys.find((candidate) => candidate.kty === "oct");
  if (key === undefined) throw new Error("JWK set has no oct key");
  return key;
}

/**
 * The signing key (`okp`) of a set made by {@link makeRefKeys}.
 *
 * @example
 * ```ts
 * await refWrite({ path, tensors, config: { enc_key: masterKeyOf(keys), sign_key: signingKeyOf(keys) } });
 * ```
 */
export function signingKeyOf(set: RefJwks): RefJwk {
  const key = set.keys.find((candidate) => candidate.kty === "okp");
  if (key === undefined) throw new Error("JWK set has no okp key");
  return key;
}

/** A safetensors file split into its parts; `header` is parsed with plain `JSON.parse`. */
export interface SplitFile {
  /** Declared header length N (includes padding). */
  headerLength: number;
  /** The N header bytes as text, padding included. */
  headerText: string;
  header: Record<string, unknown> & { __metadata__?: Record<string, string> };
  data: Buffer;
}

/**
 * Splits a file into length prefix, header and data section (no validation beyond bounds).
 *
 * @example
 * ```ts
 * const { header, data } = splitFile(readFileSync(path));
 * ```
 */
export function splitFile(file: Buffer): SplitFile {
  const headerLength = Number(file.readBigUInt64LE(0));
  if (8 + headerLength > file.length) throw new Error("header runs past the end of the file");
  const headerText = file.subarray(8, 8 + headerLength).toString("utf8");
  return {
    headerLength,
    headerText,
    header: JSON.parse(headerText),
    data: file.subarray(8 + headerLength),
  };
}

/**
 * Joins a header object and data into a file the way the reference writes it: compact JSON,
 * space padding to a multiple of 8. (Key order is the object's insertion order.)
 *
 * @example
 * ```ts
 * writeFileSync(path, joinFile(header, data));
 * ```
 */
export function joinFile(header: object, data: Uint8Array): Buffer {
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return Buffer.concat([prefix, Buffer.from(text, "utf8"), data]);
}

/**
 * The bytes the reference signs (FORMAT.md §4.1), rebuilt from a parsed header: metadata
 * without `__signature__` sorted by key bytes, then every tensor by (begin, end), ties in header
 * order. Written out by hand because `JSON.stringify` of objects reorders integer-like keys.
 *
 * @example
 * ```ts
 * verify(null, signedPayload(splitFile(file).header), publicKey, signature);
 * ```
 */
export function signedPayload(header: SplitFile["header"]): Buffer {
  const metadata = Object.entries(header.__metadata__ ?? {})
    .filter(([key]) => key !== "__signature__")
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  const tensors = Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, info], index) => ({
      name,
      info: info as { dtype: string; shape: number[]; data_offsets: [number, number] },
      index,
    }))
    .sort(
      (a, b) =>
        a.info.data_offsets[0] - b.info.data_offsets[0] ||
        a.info.data_offsets[1] - b.info.data_offsets[1] ||
        a.index - b.index,
    )
    .map(
      ({ name, info }) =>
        `${JSON.stringify(name)}:{"dtype":${JSON.stringify(info.dtype)},"shape":[${info.shape.join(",")}],"data_offsets":[${info.data_offsets.join(",")}]}`,
    );
  return Buffer.from(`{"__metadata__":{${metadata.join(",")}},${tensors.join(",")}}`, "utf8");
}

/**
 * Node KeyObject of a reference-form Ed25519 JWK (standard base64 → base64url for node).
 *
 * @example
 * ```ts
 * verify(null, signedPayload(header), ed25519KeyObject(signingKeyOf(keys), "public"), signature);
 * ```
 */
export function ed25519KeyObject(jwk: RefJwk, kind: "private" | "public"): KeyObject {
  const url = (standard: string | undefined): string => {
    if (standard === undefined) throw new Error("Ed25519 JWK lacks x or d");
    return Buffer.from(standard, "base64").toString("base64url");
  };
  const nodeJwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: url(jwk.x),
    ...(kind === "private" ? { d: url(jwk.d) } : {}),
  };
  return kind === "private"
    ? createPrivateKey({ key: nodeJwk, format: "jwk" })
    : createPublicKey({ key: nodeJwk, format: "jwk" });
}

/**
 * Re-signs an edited header with `signKey` (which needs `d` and `x`) and returns the new file:
 * the way to build validly signed headers the reference writer would never produce.
 *
 * @example
 * ```ts
 * const { header, data } = splitFile(file);
 * header.__metadata__!.__crypto_keys__ = edited;
 * writeFileSync(path, resignFile(header, data, signingKeyOf(keys)));
 * ```
 */
export function resignFile(header: SplitFile["header"], data: Uint8Array, signKey: RefJwk): Buffer {
  const metadata = { ...(header.__metadata__ ?? {}) };
  delete metadata.__signature__;
  metadata.__signature__ = sign(
    null,
    signedPayload({ ...header, __metadata__: metadata }),
    ed25519KeyObject(signKey, "private"),
  ).toString("base64");
  const sorted = Object.fromEntries(
    Object.entries(metadata).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  return joinFile({ ...header, __metadata__: sorted }, data);
}
