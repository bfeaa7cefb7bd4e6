// Attacks on the cryptographic envelope of an encrypted file. Each file is made by saveFile with
// generated keys, edited, and re-signed with its own signing key (craft.ts), so the attack gets
// past the signature and must be stopped by the check behind it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";
import { openFile, verifyFile } from "../../src/reader/open-file.js";
import {
  editReserved,
  encryptedFile,
  rewrite,
  scratchDir,
  splitFile,
  type Crafted,
  type HeaderObject,
} from "./craft.js";
import { expectRejects } from "./expect-rejects.js";

const dir = scratchDir();
const BACKENDS = ["native", "fallback"] as const;

/** Opens with the file's keys and reads every tensor. */
async function readAll(
  path: string,
  file: Crafted,
  backend: (typeof BACKENDS)[number] = "native",
): Promise<void> {
  const opened = await openFile(path, { keys: file.keySet, backend });
  try {
    for (const name of opened.names()) await opened.getTensor(name);
  } finally {
    await opened.close();
  }
}

/** The attack is refused with `code`, and for the duplicate (the message says so), not for another reason. */
async function expectDuplicate(work: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CryptoTensorsError);
  expect((error as CryptoTensorsError).code).toBe(code);
  expect((error as CryptoTensorsError).message).toMatch(/duplicate|repeat|twice|more than once/i);
}

describe("the envelope's own checks, behind a valid signature", () => {
  it("accepts the unedited re-signed file (the crafting itself is sound)", async () => {
    const file = await encryptedFile(dir);
    await readAll(
      rewrite(dir, file, () => undefined),
      file,
    );
  });

  // Attack: duplicate keys inside __crypto_keys__ (a second "version" or "enc" the signer never meant).
  it("refuses duplicate keys inside __crypto_keys__", async () => {
    const file = await encryptedFile(dir);
    for (const twice of ['"version":"2",', '"chunk_size":8,']) {
      const path = rewrite(dir, file, (h) => {
        const m = h.__metadata__!;
        m["__crypto_keys__"] = (m["__crypto_keys__"] as string).replace("{", `{${twice}`);
      });
      await expectDuplicate(readAll(path, file), "ERR_CRYPTO_KEYS_INVALID");
    }
  });

  // Attack: duplicate keys inside __encryption__ (two entries for one tensor, or a field twice).
  it.each([
    ["a tensor entry twice", (text: string) => text.replace(/^\{("[^"]+":\{[^}]*\}),/, "{$1,$1,")],
    [
      "a field twice",
      (text: string) => text.replace('"key_iv":', '"key_iv":"AAAAAAAAAAAAAAAA","key_iv":'),
    ],
  ])("refuses duplicate keys inside __encryption__: %s", async (_what, mutate) => {
    const file = await encryptedFile(dir);
    const path = rewrite(dir, file, (h) => {
      const m = h.__metadata__!;
      const edited = mutate(m["__encryption__"] as string);
      expect(edited).not.toBe(m["__encryption__"]);
      m["__encryption__"] = edited;
    });
    await expectDuplicate(readAll(path, file), "ERR_ENCRYPTION_INVALID");
  });

  // Attack: duplicate keys inside __policy__ (a permissive "local" after the signed one).
  it("refuses duplicate keys inside __policy__", async () => {
    const file = await encryptedFile(dir, { policy: "package model\nallow := false" });
    const path = rewrite(dir, file, (h) => {
      const m = h.__metadata__!;
      m["__policy__"] = (m["__policy__"] as string).replace(
        /\}$/,
        ',"local":"package model\\nallow := true"}',
      );
    });
    await expectDuplicate(readAll(path, file), "ERR_POLICY_MISSING");
  });

  // Attack: a tags field one chunk short or one chunk long (reads past the tags / ignored tail).
  it.each([
    ["shorter", (tags: Buffer) => tags.subarray(0, tags.length - 16)],
    ["longer", (tags: Buffer) => Buffer.concat([tags, Buffer.alloc(16)])],
  ])("refuses a tags field %s than the chunks need", async (_what, resize) => {
    for (const backend of BACKENDS) {
      const file = await encryptedFile(dir);
      const path = rewrite(dir, file, (h) =>
        editReserved(h, "__encryption__", (enc) => {
          enc["weight"].tags = resize(Buffer.from(enc["weight"].tags, "base64")).toString("base64");
        }),
      );
      await expectRejects(readAll(path, file, backend), "ERR_ENCRYPTION_INVALID");
    }
  });

  // Attack: chunk_size 0, negative, beyond u64, a float, a string: each refused, none divides by zero or loops.
  it.each(["0", "-8", "18446744073709551616", "8.0", "8e0", '"8"', "null"])(
    "refuses chunk_size %s",
    async (raw) => {
      const file = await encryptedFile(dir);
      const path = rewrite(dir, file, (h) => {
        const m = h.__metadata__!;
        m["__crypto_keys__"] = (m["__crypto_keys__"] as string).replace(
          '"chunk_size":8',
          `"chunk_size":${raw}`,
        );
      });
      await expectRejects(readAll(path, file), "ERR_CRYPTO_KEYS_INVALID");
    },
  );

  // Attack: a huge but valid chunk_size (2^63): one chunk per tensor, so the tags no longer fit; no huge allocation.
  it("refuses a huge chunk_size through the tag count, without allocating it", async () => {
    for (const backend of BACKENDS) {
      const file = await encryptedFile(dir);
      const path = rewrite(dir, file, (h) => {
        const m = h.__metadata__!;
        m["__crypto_keys__"] = (m["__crypto_keys__"] as string).replace(
          '"chunk_size":8',
          '"chunk_size":9223372036854775808',
        );
      });
      const before = process.memoryUsage().rss;
      await expectRejects(readAll(path, file, backend), "ERR_ENCRYPTION_INVALID");
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    }
  });

  // Attack: an IV of the wrong length (11 and 13 bytes) for the data (v2 base_iv, v1 iv) and for the key wrap.
  it.each([
    ["2", "base_iv", 11, "ERR_INVALID_IV_LENGTH"],
    ["2", "base_iv", 13, "ERR_INVALID_IV_LENGTH"],
    ["1", "iv", 11, "ERR_INVALID_IV_LENGTH"],
    ["2", "key_iv", 11, "ERR_INVALID_IV_LENGTH"],
    ["2", "key_iv", 16, "ERR_INVALID_IV_LENGTH"],
  ] as const)("refuses a v%s %s of %i bytes", async (version, field, length, code) => {
    for (const backend of BACKENDS) {
      const file = await encryptedFile(dir, { version });
      const path = rewrite(dir, file, (h) =>
        editReserved(h, "__encryption__", (enc) => {
          enc["weight"][field] = Buffer.alloc(length, 7).toString("base64");
        }),
      );
      await expectRejects(readAll(path, file, backend), code);
    }
  });

  // Attack: base64 with embedded whitespace or in the URL-safe alphabet, which lenient decoders accept.
  it.each([
    ["a newline", (b64: string) => `${b64.slice(0, 4)}\n${b64.slice(4)}`],
    ["a space", (b64: string) => `${b64.slice(0, 4)} ${b64.slice(4)}`],
    ["the URL alphabet", (b64: string) => `-_${b64.slice(2)}`],
    ["no padding", (b64: string) => b64.replace(/=+$/, "") + (b64.endsWith("=") ? "" : "A")],
  ])("refuses base64 with %s in __encryption__", async (_what, mangle) => {
    const file = await encryptedFile(dir);
    for (const field of ["wrapped_key", "tags"]) {
      const path = rewrite(dir, file, (h) =>
        editReserved(h, "__encryption__", (enc) => {
          enc["weight"][field] = mangle(enc["weight"][field]);
        }),
      );
      await expectRejects(readAll(path, file), "ERR_ENCRYPTION_INVALID");
    }
  });

  // Attack: the signature itself in the URL alphabet or wrapped with whitespace.
  it.each([
    [
      "the URL alphabet",
      (sig: string) => sig.replace(/\+/g, "-").replace(/\//g, "_").replace(/^./, "-"),
    ],
    ["a newline", (sig: string) => `${sig.slice(0, 44)}\n${sig.slice(44)}`],
  ])("refuses a __signature__ in %s", async (_what, mangle) => {
    const file = await encryptedFile(dir);
    const path = rewrite(
      dir,
      file,
      (h) => {
        const m = h.__metadata__!;
        m["__signature__"] = mangle(m["__signature__"] as string);
      },
      { resign: false },
    );
    await expectRejects(readAll(path, file), "ERR_SIGNATURE_FORMAT");
  });
});

describe("signature and downgrade", () => {
  // Attack: a valid signature lifted from another header (same signer, different tensors/metadata).
  it("refuses a signature made over a different header", async () => {
    const file = await encryptedFile(dir);
    // A header that differs only in one metadata value, validly signed by the same key...
    const other = rewrite(dir, file, (h) => {
      h.__metadata__!["format"] = "np";
    });
    const foreign = (JSON.parse(splitFile(readFileSync(other)).headerText) as HeaderObject)
      .__metadata__!["__signature__"] as string;
    await readAll(other, file);
    // ...and its signature transplanted into the original header.
    const path = rewrite(
      dir,
      file,
      (h) => {
        h.__metadata__!["__signature__"] = foreign;
      },
      { resign: false },
    );
    expect(foreign).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    await expectRejects(readAll(path, file), "ERR_SIGNATURE_INVALID");
    await expectRejects(verifyFile(path, { keys: file.keySet }), "ERR_SIGNATURE_INVALID");
  });

  // Attack: __encryption__ stripped, other reserved entries kept (a half-downgraded file).
  it("refuses a file with reserved entries but no __encryption__", async () => {
    const file = await encryptedFile(dir);
    const path = rewrite(dir, file, (h) => {
      delete h.__metadata__!["__encryption__"];
    });
    await expectRejects(openFile(path, { keys: file.keySet }), "ERR_ENCRYPTION_INVALID");
    await expectRejects(openFile(path), "ERR_ENCRYPTION_INVALID");
  });

  // Attack: every reserved entry stripped: the ciphertext now poses as a plain file (full downgrade).
  it("refuses the fully downgraded file when requireEncrypted is set", async () => {
    const file = await encryptedFile(dir);
    const path = rewrite(
      dir,
      file,
      (h) => {
        for (const key of ["__encryption__", "__crypto_keys__", "__policy__", "__signature__"])
          delete h.__metadata__![key];
      },
      { resign: false },
    );
    await expectRejects(
      openFile(path, { keys: file.keySet, requireEncrypted: true }),
      "ERR_NOT_ENCRYPTED",
    );
    // Without the option it is, by design, just a plain file of (meaningless) bytes.
    const plain = await openFile(path);
    expect(plain.encryption()).toBeNull();
    await plain.close();
  });
});
