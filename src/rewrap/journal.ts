// Guarding the in-place header rewrite of a rewrap against torn writes. Before the header
// region of the file is overwritten, both its old and its new contents are written to a journal
// beside the file and synced; the journal is removed once the file is synced. After a crash,
// recoverRewrap() finds the journal and puts the file back into one consistent state: the new
// header if it was fully written, the old one otherwise. The journal is created exclusively, so
// it is also the lock that keeps two rewraps of one file apart.
//
// Anyone who can create files beside the model can plant a journal, so recovery trusts nothing
// in it that it has not checked: the journal must be a regular file (opened without following
// links, never a FIFO or device), exactly as long as a journal of this file's header, bound to
// this file (device, inode, size, header offset and length), signed by the key that signs the
// new header (checked under the caller's trust settings, like openFile), and the header region
// must hold only bytes of its old or new region. Only the header region is ever written.
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, realpath, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { decodeBase64, encodeBase64 } from "../crypto/base64.js";
import { parseCryptoKeys } from "../crypto/reserved.js";
import { signPayload } from "../crypto/signature.js";
import { parseHeader, readHeaderLength } from "../format/header.js";
import type { SigningKey } from "../keys/jwk.js";
import { KeyContext, verifyWithAny, type KeyTrustOptions } from "../reader/key-lookup.js";
import { reservedEntries } from "../reader/unlock.js";
import { syncDirectory, writeFully } from "../io/durable-file.js";

const MAGIC = Buffer.from("CTREWRAP-JOURNAL-2\n", "latin1");
/** magic ‖ u64 offset ‖ u64 length ‖ u64 file size ‖ u64 device ‖ u64 inode ‖ 16-byte rewrap id */
const HEAD = MAGIC.length + 5 * 8 + 16;
const DIGEST = 32;
const SIGNATURE = 64;
/** Domain separation: a journal signature can never pass for a header signature or vice versa. */
const SIGNING_CONTEXT = Buffer.from("cryptotensors rewrap journal v2\n", "latin1");

/** Where the journal of a rewrap of `path` lives. */
export function journalPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.rewrap-journal`);
}

/** The identity of the file a journal is bound to. */
export interface JournalBinding {
  offset: number;
  fileSize: number;
  dev: bigint;
  ino: bigint;
}

/** Bytes a journal of an `n`-byte header region occupies. */
function journalLength(n: number): number {
  return HEAD + 2 * n + DIGEST + SIGNATURE;
}

function signedDigest(body: Uint8Array): Buffer {
  return Buffer.concat([SIGNING_CONTEXT, createHash("sha256").update(body).digest()]);
}

/**
 * @internal The journal bytes: header fields, old region, new region, SHA-256 of all that (a torn
 * journal is recognised and ignored), then an Ed25519 signature of the digest by `signKey`.
 */
export function journalBytes(
  binding: JournalBinding,
  oldRegion: Uint8Array,
  newRegion: Uint8Array,
  signKey: SigningKey,
): Buffer {
  if (oldRegion.length !== newRegion.length)
    throw new RangeError("old and new regions differ in length");
  if (!signKey.privateKey) throw new TypeError("the journal must be signed with a private key");
  const numbers = Buffer.alloc(5 * 8);
  numbers.writeBigUInt64LE(BigInt(binding.offset), 0);
  numbers.writeBigUInt64LE(BigInt(oldRegion.length), 8);
  numbers.writeBigUInt64LE(BigInt(binding.fileSize), 16);
  numbers.writeBigUInt64LE(binding.dev, 24);
  numbers.writeBigUInt64LE(binding.ino, 32);
  const body = Buffer.concat([MAGIC, numbers, randomBytes(16), oldRegion, newRegion]);
  const digest = createHash("sha256").update(body).digest();
  const signature = decodeBase64(
    signPayload(signedDigest(body), signKey.privateKey),
    "ERR_INTERNAL",
    "journal signature",
  );
  return Buffer.concat([body, digest, signature]);
}

interface Journal extends JournalBinding {
  oldRegion: Buffer;
  newRegion: Buffer;
  body: Buffer;
  signature: Buffer;
}

/** The fields of a complete journal, or null when it is torn (bad magic or digest). */
function parseJournal(bytes: Buffer): Journal | null {
  if (bytes.length < HEAD + DIGEST + SIGNATURE || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return null;
  const body = bytes.subarray(0, bytes.length - DIGEST - SIGNATURE);
  const digest = bytes.subarray(body.length, body.length + DIGEST);
  if (!createHash("sha256").update(body).digest().equals(digest)) return null;
  const at = MAGIC.length;
  const length = Number(bytes.readBigUInt64LE(at + 8));
  if (body.length !== HEAD + 2 * length) return null;
  return {
    offset: Number(bytes.readBigUInt64LE(at)),
    fileSize: Number(bytes.readBigUInt64LE(at + 16)),
    dev: bytes.readBigUInt64LE(at + 24),
    ino: bytes.readBigUInt64LE(at + 32),
    oldRegion: body.subarray(HEAD, HEAD + length),
    newRegion: body.subarray(HEAD + length),
    body,
    signature: bytes.subarray(bytes.length - SIGNATURE),
  };
}

async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes;
}

function invalid(journal: string, detail: string, cause?: unknown): CryptoTensorsError {
  return new CryptoTensorsError(
    "ERR_JOURNAL_INVALID",
    `refusing the rewrap journal ${journal}: ${detail}. Nothing was written. If no rewrap of this file was interrupted, the journal was planted: inspect and delete it`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Overwrites `newRegion.length` bytes of `path` at `offset`, which currently hold `oldRegion`,
 * under a journal signed by `signKey` (the key that signs the new header). `path` must be the
 * real path of a regular file (no symbolic link). Refuses (`ERR_BUSY`) when a journal already
 * exists (another rewrap is running or one was interrupted: see {@link recoverRewrap}) or when
 * the region no longer holds `oldRegion` (the file changed since it was read).
 *
 * @example
 * ```ts
 * await rewriteRegionJournaled("model.ct", 8, oldHeader, newHeader, newSigningKey);
 * ```
 */
export async function rewriteRegionJournaled(
  path: string,
  offset: number,
  oldRegion: Uint8Array,
  newRegion: Uint8Array,
  signKey: SigningKey,
): Promise<void> {
  const journal = journalPath(path);
  // O_CREAT | O_EXCL never follows a link planted at the journal's name.
  const lock = await open(journal, "wx", 0o600).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "EEXIST") {
      throw new CryptoTensorsError(
        "ERR_BUSY",
        `${path} has a rewrap journal (${journal}): another rewrap is running or one was interrupted; if none is running, call recoverRewrap() or run "cryptotensors rewrap --recover"`,
      );
    }
    throw new CryptoTensorsError(
      "ERR_IO",
      `cannot create the rewrap journal ${journal}: ${cause.message}`,
      { cause },
    );
  });
  let fileTouched = false;
  const file = await open(path, constants.O_RDWR | constants.O_NOFOLLOW).catch(
    async (cause: NodeJS.ErrnoException) => {
      await lock.close();
      await unlink(journal).catch(() => undefined);
      throw new CryptoTensorsError("ERR_IO", `cannot open ${path} for writing: ${cause.message}`, {
        cause,
      });
    },
  );
  try {
    const current = await readFully(file, oldRegion.length, offset);
    if (!current.equals(oldRegion)) {
      throw new CryptoTensorsError(
        "ERR_BUSY",
        `${path} changed while it was being rewrapped; nothing was written`,
      );
    }
    const info = await file.stat({ bigint: true });
    const binding = { offset, fileSize: Number(info.size), dev: info.dev, ino: info.ino };
    await writeFully(lock, journalBytes(binding, oldRegion, newRegion, signKey), 0);
    await lock.sync();
    await syncDirectory(journal);
    fileTouched = true;
    await writeFully(file, newRegion, offset);
    await file.sync();
    fileTouched = false;
  } catch (error) {
    if (fileTouched) {
      // Put the old header back; if even that fails, the journal stays for recoverRewrap().
      try {
        await writeFully(file, oldRegion, offset);
        await file.sync();
      } catch {
        await file.close().catch(() => undefined);
        await lock.close().catch(() => undefined);
        throw error;
      }
    }
    await file.close().catch(() => undefined);
    await lock.close().catch(() => undefined);
    await unlink(journal).catch(() => undefined);
    throw error;
  }
  await file.close();
  await lock.close();
  await unlink(journal);
  await syncDirectory(journal);
}

/** What {@link recoverRewrap} found and did. */
export type RecoveryOutcome = "none" | "completed" | "rolled-back" | "discarded-journal";

/**
 * Finishes an interrupted in-place rewrap of `path` (a symbolic link is followed to the file
 * it names, as rewrapFile does): with no journal, `"none"`; a journal that was itself not fully
 * written (the file was not touched yet) is removed, `"discarded-journal"`; if the file already
 * holds the whole new header, `"completed"`; otherwise (old or torn header) the old header is
 * written back, `"rolled-back"`, and the file opens with the old keys.
 *
 * The journal must be signed by the key that signs the new header, found with `options` exactly
 * as openFile finds a verification key (pinned `verifyKeys`, `keys`, the registry); a journal
 * that is not a regular file, is bound to another file, is not signed by a trusted key, or does
 * not match the file's header region is refused with `ERR_JOURNAL_INVALID` and nothing is
 * written. Run it only when no rewrap of the file is in progress.
 *
 * @example
 * ```ts
 * const outcome = await recoverRewrap("model.ct", { verifyKeys: [newPublicSignKey] });
 * ```
 */
export async function recoverRewrap(
  path: string,
  options: KeyTrustOptions = {},
): Promise<RecoveryOutcome> {
  if (typeof path !== "string" || path === "")
    throw new TypeError("path must be a non-empty string");
  const real = await realpath(path).catch((cause: NodeJS.ErrnoException) => {
    throw new CryptoTensorsError("ERR_IO", `cannot open ${path}: ${cause.message}`, { cause });
  });
  const journal = journalPath(real);
  let journalHandle: FileHandle;
  try {
    journalHandle = await open(
      journal,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "none";
    if (code === "ELOOP") throw invalid(journal, "it is a symbolic link", cause);
    throw new CryptoTensorsError("ERR_IO", `cannot read the rewrap journal ${journal}`, { cause });
  }
  let file: FileHandle | undefined;
  try {
    const journalInfo = await journalHandle.stat();
    if (!journalInfo.isFile()) throw invalid(journal, "it is not a regular file");
    file = await open(real, constants.O_RDWR | constants.O_NOFOLLOW).catch(
      (cause: NodeJS.ErrnoException) => {
        throw new CryptoTensorsError(
          "ERR_IO",
          `cannot open ${real} for writing: ${cause.message}`,
          {
            cause,
          },
        );
      },
    );
    const info = await file.stat({ bigint: true });
    if (!info.isFile())
      throw new CryptoTensorsError("ERR_IO", `${real} is not a regular file; nothing was written`);
    const fileSize = Number(info.size);
    const n = readHeaderLength(await readFully(file, Math.min(8, fileSize), 0), fileSize);
    // A journal that is not exactly as long as a complete journal of this header was torn
    // before the file was touched (or is not a journal of this file at all): nothing to undo.
    const parsed =
      journalInfo.size === journalLength(n)
        ? parseJournal(await readFully(journalHandle, journalLength(n), 0))
        : null;
    if (parsed === null) {
      await unlink(journal);
      await syncDirectory(journal);
      return "discarded-journal";
    }
    if (parsed.offset !== 8 || parsed.oldRegion.length !== n)
      throw invalid(journal, "it does not cover exactly this file's header region");
    if (parsed.fileSize !== fileSize || parsed.dev !== info.dev || parsed.ino !== info.ino)
      throw invalid(journal, `it was written for another file (or ${real} changed size since)`);
    await checkJournalSignature(parsed, fileSize, journal, options);
    const current = await readFully(file, n, 8);
    for (let i = 0; i < n; i++) {
      if (current[i] !== parsed.oldRegion[i] && current[i] !== parsed.newRegion[i])
        throw invalid(
          journal,
          `${real}'s header holds bytes from neither its old nor its new header`,
        );
    }
    let outcome: RecoveryOutcome = "completed";
    if (!current.equals(parsed.newRegion)) {
      // The signed journal vouches for the old header; still, never write what does not parse.
      parseHeader(parsed.oldRegion, fileSize);
      await writeFully(file, parsed.oldRegion, 8);
      await file.sync();
      outcome = "rolled-back";
    }
    await unlink(journal);
    await syncDirectory(journal);
    return outcome;
  } finally {
    await file?.close().catch(() => undefined);
    await journalHandle.close().catch(() => undefined);
  }
}

/** The journal must be signed by the key that verifies its new header, under the caller's trust. */
async function checkJournalSignature(
  parsed: Journal,
  fileSize: number,
  journal: string,
  options: KeyTrustOptions,
): Promise<void> {
  let descriptor: ReturnType<typeof parseCryptoKeys>["sign"];
  try {
    const header = parseHeader(parsed.newRegion, fileSize);
    const cryptoKeys = reservedEntries(header).get("__crypto_keys__");
    if (cryptoKeys === undefined) throw new Error("the new header has no __crypto_keys__");
    descriptor = parseCryptoKeys(cryptoKeys).sign;
  } catch (cause) {
    throw invalid(journal, "its new header is not a CryptoTensors header", cause);
  }
  const context = KeyContext.open(options);
  try {
    const verifiers = await context.verifiers(descriptor);
    try {
      verifyWithAny(
        signedDigest(parsed.body),
        encodeBase64(parsed.signature),
        verifiers.keys,
        verifiers.pinned,
      );
    } catch (cause) {
      throw invalid(journal, "it is not signed by a trusted key of the new header", cause);
    } finally {
      verifiers.release();
    }
  } finally {
    context.dispose();
  }
}
