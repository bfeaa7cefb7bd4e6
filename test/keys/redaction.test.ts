// Key material must never show up in util.inspect, JSON.stringify or error messages: not raw,
// not hex, not base64 or base64url (preamble; FORMAT.md §8.7).
import { describe, expect, it } from "vitest";
import { inspect } from "node:util";
import { parseJwk } from "../../src/keys/jwk.js";
import { keyRingFromEnv, parseKeySet } from "../../src/keys/keyring.js";
import { unwrapDataKey, wrapDataKey } from "../../src/crypto/envelope.js";
import { open } from "../../src/crypto/aead.js";
import { parseCryptoKeys } from "../../src/crypto/reserved.js";
import { CryptoTensorsError } from "../../src/errors.js";

const MASTER = Buffer.from(
  "7c0ffee07c0ffee07c0ffee07c0ffee07c0ffee07c0ffee07c0ffee07c0ffee0",
  "hex",
);
const SEED = Buffer.from("5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed", "hex");

function spellings(bytes: Buffer): string[] {
  // Any 12-byte window of the key, in every spelling, is a leak.
  const window = bytes.subarray(4, 16);
  return [
    bytes.toString("hex"),
    window.toString("hex"),
    window.toString("hex").toUpperCase(),
    bytes.toString("base64"),
    bytes.toString("base64url"),
    bytes.subarray(3, 15).toString("base64"),
    window.toString("latin1"),
    [...window].join(", "),
    [...window].map((b) => b.toString(16).padStart(2, "0")).join(" "),
  ];
}

function expectNoLeak(text: string): void {
  for (const secret of [MASTER, SEED]) {
    for (const spelling of spellings(secret)) expect(text).not.toContain(spelling);
  }
}

async function signerJwk(): Promise<Record<string, string>> {
  const { ed25519PublicKey } = await import("../../src/crypto/signature.js");
  return {
    kty: "okp",
    alg: "ed25519",
    kid: "sign-1",
    x: ed25519PublicKey(SEED).toString("base64"),
    d: SEED.toString("base64"),
  };
}

describe("redaction", () => {
  it("the leak detector catches every spelling (so the checks below can fail)", () => {
    for (const spelling of [...spellings(MASTER), ...spellings(SEED)]) {
      expect(() => expectNoLeak(`prefix ${spelling} suffix`)).toThrow();
    }
    expect(() => expectNoLeak(inspect(MASTER))).toThrow();
  });

  it("keys and key rings hide their bytes from inspect and JSON", async () => {
    const jwks = {
      keys: [
        { kty: "oct", alg: "aes256gcm", kid: "enc-1", k: MASTER.toString("base64") },
        await signerJwk(),
      ],
    };
    const ring = parseKeySet(jwks);
    const master = ring.findMaster()!;
    const signer = ring.findSigner()!;
    for (const value of [master, signer, ring, { nested: { master, signer } }, [ring]]) {
      expectNoLeak(inspect(value));
      expectNoLeak(inspect(value, { showHidden: true, depth: Infinity, getters: true }));
      expectNoLeak(inspect(value, { customInspect: false, showHidden: true, depth: Infinity }));
      expectNoLeak(JSON.stringify(value));
      expectNoLeak(String(value));
      expectNoLeak(`${Object.keys(value).join()}${JSON.stringify(Object.entries(value))}`);
    }
    expect(inspect(master)).toContain("[REDACTED]");
    expect(inspect(master)).toContain("enc-1");
    expect(JSON.parse(JSON.stringify(master))).toEqual({
      kty: "oct",
      alg: "aes256gcm",
      kid: "enc-1",
    });
    expect(JSON.parse(JSON.stringify(signer))).toEqual({
      kty: "okp",
      alg: "ed25519",
      kid: "sign-1",
    });
  });

  it("thrown errors carry no key bytes, in the message, the stack, the cause or inspect", async () => {
    const b64 = MASTER.toString("base64");
    const errors: unknown[] = [];
    const capture = (run: () => unknown): void => {
      try {
        run();
      } catch (error) {
        errors.push(error);
      }
    };
    capture(() => parseJwk({ kty: "oct", alg: "aes128gcm", kid: "k", k: b64 })); // wrong length
    capture(() =>
      parseJwk({ kty: "oct", alg: "aes256gcm", k: `${MASTER.toString("base64url")}=+` }),
    ); // neither alphabet
    capture(() => parseJwk({ kty: "oct", alg: "aes256gcm", k: `${b64} ` }));
    capture(() => parseJwk({ kty: "OCT", alg: "aes256gcm", k: b64 }));
    const signer = await signerJwk();
    capture(() => parseJwk({ ...signer, x: MASTER.toString("base64") })); // x/d mismatch
    capture(() => parseJwk({ ...signer, d: Buffer.concat([SEED, SEED]).toString("base64") }));
    capture(() =>
      keyRingFromEnv({ CRYPTOTENSOR_KEYS: `{"kty":"oct","alg":"aes256gcm","k":"${b64}"` }),
    );
    capture(() =>
      keyRingFromEnv({ CRYPTOTENSOR_KEYS: `{"kty":"oct","alg":"aes256gcm","k":"${b64}x"}` }),
    );
    capture(() =>
      parseCryptoKeys(
        `{"version":"2","enc":{"kty":"oct","alg":"aes256gcm","k":"${b64}"},"sign":{"kty":"okp","alg":"ed25519"}}`,
      ),
    );
    capture(() =>
      parseCryptoKeys(`{"version":"2","enc":{"kty":"oct","alg":"aes256gcm","k":"${b64}",}}`),
    );
    const entry = wrapDataKey("aes256gcm", MASTER, SEED);
    capture(() => unwrapDataKey("aes256gcm", Buffer.alloc(32), entry));
    capture(() => unwrapDataKey("aes128gcm", MASTER, entry));
    capture(() =>
      open("aes256gcm", MASTER, entry.keyIv, entry.wrappedKey, entry.keyTag.subarray(0, 8)),
    );
    expect(errors).toHaveLength(13);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CryptoTensorsError);
      const e = error as CryptoTensorsError;
      expectNoLeak(e.message);
      expectNoLeak(e.stack ?? "");
      expectNoLeak(inspect(e, { depth: Infinity, showHidden: true }));
      expectNoLeak(JSON.stringify(e));
    }
  });
});
