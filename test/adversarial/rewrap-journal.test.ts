// Issue 11, findings 1 and 10: a planted rewrap journal must never make recovery write anything
// (the journal is authenticated, bound to the file, a small regular file opened without following
// links), and a rewrap through a symbolic link rewraps the link's target whether or not the
// header grows. Recovery and rewrap never read tensor data, so they do not depend on the backend.
import { createHash } from "node:crypto";
import {
  copyFileSync,
  lstatSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  loadFile,
  parseJwk,
  recoverRewrap,
  rewrapFile,
  type SigningKey,
  verifyFile,
} from "../../src/index.js";
import { journalBytes, journalPath } from "../../src/rewrap/journal.js";
import { runCli } from "../cli/run-cli.js";
import { tempDir } from "../integration/helpers.js";
import { keySet, publicOf, rejectsWith, saveModel, type Jwks } from "../keys/helpers.js";
import { mkfifoSync } from "./fifo.js";

const dir = tempDir("ct-journal-");
const at = (name: string) => join(dir, name);
let serial = 0;

/** The journal format main used to trust: magic, offset, length, size, old, new, SHA-256. */
function unsignedJournal(offset: number, oldRegion: Buffer, newRegion: Buffer, size: number) {
  const numbers = Buffer.alloc(24);
  numbers.writeBigUInt64LE(BigInt(offset), 0);
  numbers.writeBigUInt64LE(BigInt(oldRegion.length), 8);
  numbers.writeBigUInt64LE(BigInt(size), 16);
  const body = Buffer.concat([
    Buffer.from("CTREWRAP-JOURNAL-1\n", "latin1"),
    numbers,
    oldRegion,
    newRegion,
  ]);
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

/** A journal in today's format for `path`, signed by `keys`' signing key. */
function signedJournal(path: string, oldRegion: Buffer, newRegion: Buffer, keys: Jwks): Buffer {
  const info = statSync(path, { bigint: true });
  const binding = { offset: 8, fileSize: Number(info.size), dev: info.dev, ino: info.ino };
  return journalBytes(binding, oldRegion, newRegion, parseJwk(keys.keys[1]) as SigningKey);
}

async function model(keys: Jwks): Promise<{ path: string; bytes: Buffer; n: number }> {
  const path = at(`m${serial++}.ct`);
  await saveModel(path, keys);
  const bytes = readFileSync(path);
  return { path, bytes, n: Number(bytes.readBigUInt64LE(0)) };
}

describe("recoverRewrap refuses planted journals (finding 1)", () => {
  const keys = keySet("a");

  it("an unsigned journal (SHA-256 only) replacing the header, or writing past it, writes nothing", async () => {
    const { path, bytes, n } = await model(keys);
    const plainHeader = Buffer.alloc(n, 0x20);
    plainHeader.write('{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}');
    const current = bytes.subarray(8, 8 + n);
    for (const journal of [
      unsignedJournal(8, plainHeader, Buffer.from(current).fill(1, 0, 1), bytes.length),
      unsignedJournal(bytes.length, Buffer.alloc(1 << 20, 7), Buffer.alloc(1 << 20), bytes.length),
      unsignedJournal(bytes.length - 16, Buffer.alloc(16, 9), Buffer.alloc(16), bytes.length),
    ]) {
      writeFileSync(journalPath(path), journal);
      expect(await recoverRewrap(path, { keys })).toBe("discarded-journal");
      expect(readFileSync(path).equals(bytes)).toBe(true);
    }
  });

  it("a journal signed by an untrusted key is refused and kept; the file is untouched", async () => {
    const { path, bytes, n } = await model(keys);
    const attacker = keySet("z");
    const other = at(`other${serial++}.ct`);
    await saveModel(other, attacker);
    const forgedOld = readFileSync(other).subarray(8, 8 + n);
    const newRegion = Buffer.from(bytes.subarray(8, 8 + n));
    newRegion[0] = 0x20;
    writeFileSync(journalPath(path), signedJournal(path, forgedOld, newRegion, attacker));
    await rejectsWith(recoverRewrap(path, { keys }), "ERR_JOURNAL_INVALID");
    await rejectsWith(recoverRewrap(path, { verifyKeys: [publicOf(keys)] }), "ERR_JOURNAL_INVALID");
    expect(readFileSync(path).equals(bytes)).toBe(true);
    // The CLI says so and exits 1.
    const cli = await runCli([
      "rewrap",
      "--recover",
      path,
      "--verify-keys",
      writeKeys(publicOf(keys)),
    ]);
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/ERR_JOURNAL_INVALID/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("a genuine journal of another file (replayed) is refused", async () => {
    const newKeys = keySet("b");
    const first = await model(keys);
    const second = await model(keys);
    const rewrapped = at(`r${serial++}.ct`);
    await rewrapFile(first.path, { oldKeys: keys, ...newKeysOf(newKeys), output: rewrapped });
    const newRegion = readFileSync(rewrapped).subarray(8, 8 + first.n);
    const journal = signedJournal(
      first.path,
      first.bytes.subarray(8, 8 + first.n),
      newRegion,
      newKeys,
    );
    copyFileSync(first.path, second.path);
    writeFileSync(journalPath(second.path), journal);
    await rejectsWith(recoverRewrap(second.path, { keys: newKeys }), "ERR_JOURNAL_INVALID");
    expect(readFileSync(second.path).equals(first.bytes)).toBe(true);
  });

  it("a header region holding bytes of neither side is refused", async () => {
    const newKeys = keySet("c");
    const { path, bytes, n } = await model(keys);
    const newRegion = Buffer.from(bytes.subarray(8, 8 + n));
    newRegion[1] = (newRegion[1] as number) ^ 1;
    const oldRegion = Buffer.from(bytes.subarray(8, 8 + n));
    oldRegion[1] = (oldRegion[1] as number) ^ 2;
    writeFileSync(journalPath(path), signedJournal(path, oldRegion, newRegion, newKeys));
    await rejectsWith(recoverRewrap(path, { keys: newKeys }), "ERR_JOURNAL_INVALID");
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("a FIFO or a symbolic link as journal is refused at once (no hang, no read of /dev/zero)", async () => {
    const { path, bytes } = await model(keys);
    mkfifoSync(journalPath(path));
    await rejectsWith(recoverRewrap(path, { keys }), "ERR_JOURNAL_INVALID");
    const linked = await model(keys);
    symlinkSync("/dev/zero", journalPath(linked.path));
    await rejectsWith(recoverRewrap(linked.path, { keys }), "ERR_JOURNAL_INVALID");
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readFileSync(linked.path).equals(linked.bytes)).toBe(true);
  }, 20_000);
});

function newKeysOf(keys: Jwks) {
  return { newEncKey: keys.keys[0], newSignKey: keys.keys[1] };
}

function writeKeys(value: unknown): string {
  const path = at(`keys${serial++}.json`);
  writeFileSync(path, JSON.stringify(Array.isArray(value) ? { keys: value } : { keys: [value] }));
  return path;
}

describe("rewrap through a symbolic link rewraps the target, and the link stays (finding 10)", () => {
  it.each([
    ["the header fits", "b"],
    ["the header grows", `grown-${"x".repeat(300)}`],
  ])("API, %s", async (_label, tag) => {
    const oldKeys = keySet("a");
    const newKeys = keySet(tag);
    const { path } = await model(oldKeys);
    const link = at(`link${serial++}.ct`);
    symlinkSync(path, link);
    await rewrapFile(link, { oldKeys, ...newKeysOf(newKeys) });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    await loadFile(path, { keys: newKeys });
    await rejectsWith(loadFile(path, { keys: oldKeys }), "ERR_KEY_NOT_FOUND");
  });

  it("CLI, the header grows", async () => {
    const oldKeys = keySet("a");
    const newKeys = keySet(`grown-${"y".repeat(300)}`);
    const { path } = await model(oldKeys);
    const link = at(`link${serial++}.ct`);
    symlinkSync(path, link);
    const result = await runCli([
      "rewrap",
      link,
      link,
      "--keys",
      writeKeys(oldKeys.keys),
      "--new-keys",
      writeKeys(newKeys.keys),
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    await verifyFile(path, { keys: newKeys });
  });
});
