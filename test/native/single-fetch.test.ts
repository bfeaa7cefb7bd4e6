// Issue 20 items 1 and 2: every byte the tag authenticates is the byte decrypted, and no
// destination ever holds plaintext whose tag has not verified.
//  - A separate writer process flips one ciphertext byte back and forth while 200 reads run: each
//    read must return the right plaintext or ERR_DECRYPTION_FAILED (with the destination zeroed),
//    on every engine and algorithm, v1 and v2.
//  - The destination of a tampered read is polled while the read runs: plaintext of a message
//    whose tag fails must never show up in it.
// The native backend is run with both kinds of destination: an addon arena (its threads write
// there directly: verify, then decrypt) and a plain buffer (filled through addon staging, a
// private destination decrypted in place, copied out after the plan).
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { AeadAlgorithm, Backend } from "../../src/native/backend.js";
import { allocateArena, getBackend, nativeInfo, setAesEngine } from "../../src/native/index.js";
import type { AesEngineName } from "../../src/native/addon.js";
import { type Fixture, requestFor, tempDir, writeEncrypted } from "./helpers.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);

// OpenSSL for every algorithm, and each faster AES-GCM engine this CPU runs.
const CONFIGS: { algorithm: AeadAlgorithm; engine: AesEngineName }[] = [
  { algorithm: "aes256gcm", engine: "openssl" },
  { algorithm: "aes128gcm", engine: "openssl" },
  { algorithm: "chacha20poly1305", engine: "openssl" },
  ...nativeInfo()
    .aesGcmEngines.filter((engine) => engine !== "openssl")
    .flatMap((engine) => [
      { algorithm: "aes256gcm", engine } as const,
      { algorithm: "aes128gcm", engine } as const,
    ]),
];

// Flips the byte at `offset` of `path` back and forth until killed (at most 60 s).
const WRITER = `
const fs = require("node:fs");
const [path, offset] = [process.argv[1], Number(process.argv[2])];
const fd = fs.openSync(path, "r+");
const byte = Buffer.alloc(1);
fs.readSync(fd, byte, 0, 1, offset);
const flipped = Buffer.from([byte[0] ^ 0x01]);
const until = Date.now() + 60000;
process.stdout.write("ready\\n");
while (Date.now() < until) {
  fs.writeSync(fd, flipped, 0, 1, offset);
  fs.writeSync(fd, byte, 0, 1, offset);
}
`;

async function startWriter(path: string, offset: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", WRITER, path, String(offset)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", () => resolve());
  });
  return child;
}

async function outcomesUnderWriter(
  backend: Backend,
  f: Fixture,
  algorithm: AeadAlgorithm,
  chunkSize: number,
): Promise<Record<string, number>> {
  const file = await backend.open(f.path);
  // The toggled byte sits in the middle of the ciphertext (inside a middle chunk for v2).
  const writer = await startWriter(f.path, f.dataStart + (f.plain.length >> 1) + 17);
  const outcomes: Record<string, number> = {};
  try {
    // Reads alternate between an arena and a plain buffer (the two native read paths).
    const dests = [new Uint8Array(f.plain.length), new Uint8Array(allocateArena(f.plain.length))];
    for (let i = 0; i < 200; i++) {
      const dest = dests[i % 2] as Uint8Array;
      dest.fill(0xee);
      let outcome: string;
      try {
        await file.decryptInto(requestFor(f, algorithm, chunkSize), dest);
        outcome = Buffer.from(dest).equals(f.plain) ? "correct" : "WRONG PLAINTEXT";
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error);
        outcome =
          code === "ERR_DECRYPTION_FAILED" && dest.every((b) => b === 0)
            ? code
            : `${code} (dest not zeroed)`;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  } finally {
    writer.kill("SIGKILL");
    await file.close();
  }
  return outcomes;
}

describe("a concurrent writer toggling a ciphertext byte (issue 20 item 1)", () => {
  for (const { algorithm, engine } of CONFIGS) {
    for (const chunkSize of [0, 64 << 10]) {
      it(`${algorithm} on ${engine}, ${chunkSize === 0 ? "v1" : "v2"}: only correct data or ERR_DECRYPTION_FAILED`, async () => {
        setAesEngine(engine);
        const f = writeEncrypted(
          dir,
          `toggle-${algorithm}-${engine}-${chunkSize}`,
          algorithm,
          1 << 20,
          chunkSize,
        );
        const outcomes = await outcomesUnderWriter(getBackend("native"), f, algorithm, chunkSize);
        expect(
          Object.keys(outcomes).filter((o) => o !== "correct" && o !== "ERR_DECRYPTION_FAILED"),
        ).toEqual([]);
        expect((outcomes["correct"] ?? 0) + (outcomes["ERR_DECRYPTION_FAILED"] ?? 0)).toBe(200);
      }, 60_000);
    }
  }

  it("the fallback backend too (pread into its own buffer)", async () => {
    const f = writeEncrypted(dir, "toggle-fallback", "chacha20poly1305", 1 << 20, 0);
    const outcomes = await outcomesUnderWriter(getBackend("fallback"), f, "chacha20poly1305", 0);
    expect(
      Object.keys(outcomes).filter((o) => o !== "correct" && o !== "ERR_DECRYPTION_FAILED"),
    ).toEqual([]);
  }, 60_000);
});

/** True if any 32-byte window at a 4 KiB stride of `dest` equals the plaintext there. */
function showsPlaintext(dest: Uint8Array, plain: Uint8Array, from: number, to: number): boolean {
  for (let at = from; at + 32 <= to; at += 4096) {
    let same = true;
    for (let k = 0; k < 32 && same; k++) same = dest[at + k] === plain[at + k];
    if (same) return true;
  }
  return false;
}

describe("no plaintext before its tag verifies (issue 20 item 2)", () => {
  for (const backendName of ["native", "native arena", "fallback"] as const) {
    for (const { chunkSize, what } of [
      { chunkSize: 0, what: "a tampered 64 MiB v1 tensor" },
      { chunkSize: 2 << 20, what: "a v2 tensor with one tampered 2 MiB chunk" },
    ]) {
      it(`${backendName}: polling the destination of ${what} never sees its plaintext`, async () => {
        const length = 64 << 20;
        const f = writeEncrypted(
          dir,
          `poll-${backendName.replace(" ", "-")}-${chunkSize}`,
          "aes256gcm",
          length,
          chunkSize,
        );
        // Tamper with the last byte (v1: the message; v2: chunk 20 of 32).
        const bad = chunkSize === 0 ? length - 1 : 20 * chunkSize + 5;
        const bytes = await import("node:fs").then((fs) => fs.readFileSync(f.path));
        bytes[f.dataStart + bad] = (bytes[f.dataStart + bad] as number) ^ 0x80;
        (await import("node:fs")).writeFileSync(f.path, bytes);
        const [from, to] = chunkSize === 0 ? [0, length] : [20 * chunkSize, 21 * chunkSize];
        const arena = backendName === "native arena";
        const file = await getBackend(arena ? "native" : backendName).open(f.path);
        try {
          for (let round = 0; round < 3; round++) {
            const dest = arena ? new Uint8Array(allocateArena(length)) : new Uint8Array(length);
            let done = false;
            let polls = 0;
            let seen = false;
            // Settles to the error (or null), so that the rejection is handled while we poll.
            const outcome = file
              .decryptInto(requestFor(f, "aes256gcm", chunkSize), dest)
              .then(
                () => null,
                (error: unknown) => error,
              )
              .finally(() => {
                done = true;
              });
            while (!done) {
              if (showsPlaintext(dest, f.plain, from, to)) seen = true;
              polls++;
              await new Promise((r) => setImmediate(r));
            }
            expect(await outcome).toMatchObject({ code: "ERR_DECRYPTION_FAILED" });
            expect(seen).toBe(false);
            expect(dest.every((b) => b === 0)).toBe(true);
            expect(polls).toBeGreaterThan(0);
          }
        } finally {
          await file.close();
        }
      }, 60_000);
    }
  }
});
