import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scanEncryption } from "../../../src/crypto/encryption-scan.js";
import {
  parseEncryption,
  parseEncryptionStrictly,
  serializeEncryption,
  type EncryptionEntry,
} from "../../../src/crypto/reserved-encryption.js";

/** The strict parser's answer: its entries, or the code it throws. */
function strict(text: string): Map<string, EncryptionEntry> | string {
  try {
    return parseEncryptionStrictly(text);
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Same names in the same order and the same bytes in every field (views or not). */
function plain(entries: Map<string, EncryptionEntry>): Array<[string, Record<string, number[]>]> {
  return [...entries].map(([name, entry]) => [
    name,
    Object.fromEntries(Object.entries(entry).map(([field, bytes]) => [field, [...bytes]])),
  ]);
}

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
const v2Entry = fc.record({
  wrappedKey: bytes(0, 40),
  keyIv: bytes(0, 14),
  keyTag: bytes(0, 18),
  baseIv: bytes(0, 14),
  tags: bytes(0, 70),
});
const v1Entry = fc.record({
  wrappedKey: bytes(32, 32),
  keyIv: bytes(12, 12),
  keyTag: bytes(16, 16),
  iv: bytes(0, 12),
  tag: bytes(0, 16),
});
const nameArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("w", "model.layers.0.mlp.up_proj.weight", "é", 'q"uote', "back\\slash", "\u0001"),
);
const textArb = fc.constantFrom("1" as const, "2" as const).chain((layout) =>
  fc
    .uniqueArray(fc.tuple(nameArb, layout === "1" ? v1Entry : v2Entry), {
      minLength: 1,
      maxLength: 6,
      selector: ([n]) => n,
    })
    .map((list) =>
      serializeEncryption(
        list.map(([name, entry]) => [name, entry] as [string, EncryptionEntry]),
        layout,
      ),
    ),
);
/** Edits that keep a text close to the canonical form, so both parsers get interesting input. */
const mutated = fc
  .tuple(
    textArb,
    fc.nat(),
    fc.constantFrom(
      "",
      " ",
      "=",
      "==",
      "A",
      "-",
      "_",
      "\\",
      '"',
      ",",
      "}",
      "{",
      "null",
      '"x":"AA=="',
      "\\u0041",
      "\n",
    ),
    fc.nat(3),
  )
  .map(([text, at, insert, cut]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(Math.min(text.length, i + cut));
  });

describe("scanEncryption (the fast reading of the canonical __encryption__)", () => {
  it("reads every text the serializer writes, exactly as the strict parser does", () => {
    fc.assert(
      fc.property(textArb, (text) => {
        const fast = scanEncryption(text);
        const reference = strict(text);
        if (typeof reference === "string") {
          // Names the strict parser refuses are never in the canonical pattern.
          expect(fast).toBeNull();
          return;
        }
        // Names with escapes (a backslash: base64 has none) are left to the strict parser.
        if (text.includes("\\")) expect(fast).toBeNull();
        else expect(fast).not.toBeNull();
        if (fast === null) return;
        expect(plain(fast as Map<string, EncryptionEntry>)).toEqual(plain(reference));
      }),
      { numRuns: 400 },
    );
  });

  it("on any edit of such a text, answers null or the strict parser's entries", () => {
    fc.assert(
      fc.property(mutated, (text) => {
        const fast = scanEncryption(text);
        if (fast === null) return;
        const reference = strict(text);
        expect(typeof reference).not.toBe("string");
        expect(plain(fast)).toEqual(plain(reference as Map<string, EncryptionEntry>));
      }),
      { numRuns: 3000 },
    );
  });

  it("leaves repeated names, non-canonical base64, whitespace and unknown fields to the strict parser", () => {
    const one = '"w":{"wrapped_key":"AAAA","key_iv":"AAAA","key_tag":"AAAA"}';
    expect(scanEncryption(`{${one}}`)).not.toBeNull();
    for (const text of [
      `{${one},${one}}`,
      `{${one.replace('"AAAA","key_iv"', '"AAB=","key_iv"')}}`,
      `{${one.replace('"AAAA","key_iv"', '"AAA","key_iv"')}}`,
      `{ ${one}}`,
      `{${one.replace("}", ',"extra":"AAAA"}')}}`,
      `{${one.replace("}", ',"base_iv":null,"tags":"AAAA"}')}}`,
      `{${one}}x`,
      "{}",
    ]) {
      expect(scanEncryption(text), text).toBeNull();
    }
    expect(() => parseEncryption(`{${one},${one}}`)).toThrow(/repeats a key/);
  });

  it("decodes every field into views of one buffer", () => {
    const text = serializeEncryption(
      [
        [
          "a",
          {
            wrappedKey: Buffer.alloc(32, 1),
            keyIv: Buffer.alloc(12, 2),
            keyTag: Buffer.alloc(16, 3),
            baseIv: Buffer.alloc(12, 4),
            tags: Buffer.alloc(32, 5),
          },
        ],
        [
          "b",
          {
            wrappedKey: Buffer.alloc(32, 6),
            keyIv: Buffer.alloc(12, 7),
            keyTag: Buffer.alloc(16, 8),
            baseIv: Buffer.alloc(12, 9),
            tags: Buffer.alloc(16, 10),
          },
        ],
      ],
      "2",
    );
    const entries = scanEncryption(text) as Map<string, EncryptionEntry>;
    const a = entries.get("a") as EncryptionEntry;
    const b = entries.get("b") as EncryptionEntry;
    expect(a.wrappedKey.buffer).toBe(b.tags?.buffer);
    expect([...(b.tags as Buffer)]).toEqual(new Array(16).fill(10));
    expect([...a.keyIv]).toEqual(new Array(12).fill(2));
  });
});
