// Guarding the in-place header rewrite of a rewrap against torn writes. Before the header
// region of the file is overwritten, both its old and its new contents are written to a journal
// beside the file and synced; the journal is removed once the file is synced. After a crash,
// recoverRewrap() finds the journal and puts the file back into one consistent state: the new
// header if it was fully written, the old one otherwise. The journal is created exclusively, so
// it is also the lock that keeps two rewraps of one file apart.
import { createHash } from "node:crypto";
import { open, readFile, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoTensorsError } from "../errors.js";
import { syncDirectory, writeFully } from "../io/durable-file.js";

const MAGIC = Buffer.from("CTREWRAP-JOURNAL-1\n", "latin1");
const DIGEST = 32;

/** Where the journal of a rewrap of `path` lives. */
export function journalPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.rewrap-journal`);
}

/**
 * @internal The journal bytes: magic, u64 region offset, u64 region length, u64 file size,
 * old region, new region, then SHA-256 of all that (a torn journal is recognised and ignored).
 */
export function journalBytes(
  offset: number,
  oldRegion: Uint8Array,
  newRegion: Uint8Array,
  fileSize: number,
): Buffer {
  if (oldRegion.length !== newRegion.length)
    throw new RangeError("old and new regions differ in length");
  const numbers = Buffer.alloc(24);
  numbers.writeBigUInt64LE(BigInt(offset), 0);
  numbers.writeBigUInt64LE(BigInt(oldRegion.length), 8);
  numbers.writeBigUInt64LE(BigInt(fileSize), 16);
  const body = Buffer.concat([MAGIC, numbers, oldRegion, newRegion]);
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

interface Journal {
  offset: number;
  fileSize: number;
  oldRegion: Buffer;
  newRegion: Buffer;
}

function parseJournal(bytes: Buffer): Journal | null {
  const head = MAGIC.length + 24;
  if (bytes.length < head + DIGEST || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const body = bytes.subarray(0, bytes.length - DIGEST);
  if (
    !createHash("sha256")
      .update(body)
      .digest()
      .equals(bytes.subarray(bytes.length - DIGEST))
  )
    return null;
  const offset = Number(bytes.readBigUInt64LE(MAGIC.length));
  const length = Number(bytes.readBigUInt64LE(MAGIC.length + 8));
  const fileSize = Number(bytes.readBigUInt64LE(MAGIC.length + 16));
  if (body.length !== head + 2 * length) return null;
  return {
    offset,
    fileSize,
    oldRegion: body.subarray(head, head + length),
    newRegion: body.subarray(head + length),
  };
}

/**
 * Overwrites `newRegion.length` bytes of `path` at `offset`, which currently hold `oldRegion`,
 * under a journal. Refuses (`ERR_BUSY`) when a journal already exists (another rewrap is running
 * or one was interrupted: see {@link recoverRewrap}) or when the region no longer holds
 * `oldRegion` (the file changed since it was read).
 *
 * @example
 * ```ts
 * await rewriteRegionJournaled("model.ct", 8, oldHeader, newHeader);
 * ```
 */
export async function rewriteRegionJournaled(
  path: string,
  offset: number,
  oldRegion: Uint8Array,
  newRegion: Uint8Array,
): Promise<void> {
  const journal = journalPath(path);
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
  const file = await open(path, "r+").catch(async (cause: NodeJS.ErrnoException) => {
    await lock.close();
    await unlink(journal).catch(() => undefined);
    throw new CryptoTensorsError("ERR_IO", `cannot open ${path} for writing: ${cause.message}`, {
      cause,
    });
  });
  try {
    const current = Buffer.alloc(oldRegion.length);
    await file.read(current, 0, current.length, offset);
    if (!current.equals(oldRegion)) {
      throw new CryptoTensorsError(
        "ERR_BUSY",
        `${path} changed while it was being rewrapped; nothing was written`,
      );
    }
    await writeFully(lock, journalBytes(offset, oldRegion, newRegion, (await file.stat()).size), 0);
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
 * Finishes an interrupted in-place rewrap of `path`: with no journal, `"none"`; a journal that
 * was itself not fully written (the file was not touched yet) is removed, `"discarded-journal"`;
 * if the file already holds the whole new header, `"completed"`; otherwise (old or torn header)
 * the old header is written back, `"rolled-back"`, and the file opens with the old keys. Run it
 * only when no rewrap of the file is in progress.
 *
 * @example
 * ```ts
 * const outcome = await recoverRewrap("model.ct"); // "none" after a clean run
 * ```
 */
export async function recoverRewrap(path: string): Promise<RecoveryOutcome> {
  if (typeof path !== "string" || path === "")
    throw new TypeError("path must be a non-empty string");
  const journal = journalPath(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(journal);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return "none";
    throw new CryptoTensorsError("ERR_IO", `cannot read the rewrap journal ${journal}`, { cause });
  }
  const parsed = parseJournal(bytes);
  if (parsed === null) {
    await unlink(journal);
    await syncDirectory(journal);
    return "discarded-journal";
  }
  const file = await open(path, "r+");
  let outcome: RecoveryOutcome;
  try {
    const current = Buffer.alloc(parsed.newRegion.length);
    await file.read(current, 0, current.length, parsed.offset);
    if (current.equals(parsed.newRegion)) {
      outcome = "completed";
    } else {
      await writeFully(file, parsed.oldRegion, parsed.offset);
      await file.sync();
      outcome = "rolled-back";
    }
  } finally {
    await file.close();
  }
  await unlink(journal);
  await syncDirectory(journal);
  return outcome;
}
