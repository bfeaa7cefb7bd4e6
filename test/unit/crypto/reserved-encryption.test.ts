import { describe, expect, it } from "vitest";
import {
  parseEncryption,
  serializeEncryption,
  type EncryptionEntry,
} from "../../../src/crypto/reserved.js";
import { byteRange } from "../../fixtures/worked-example.js";
import { expectCode } from "../../support/expect-code.js";

const key = (n: number): EncryptionEntry => ({
  wrappedKey: byteRange(n, 32),
  keyIv: byteRange(n + 1, 12),
  keyTag: byteRange(n + 2, 16),
});
const b64 = (b: Buffer): string => b.toString("base64");

describe("__encryption__", () => {
  it("writes v2 entries sorted by name bytes with the reference's field order", () => {
    const entries = new Map<string, EncryptionEntry>([
      ["weight", { ...key(1), baseIv: byteRange(9, 12), tags: byteRange(10, 32) }],
      ["Z", { ...key(2), baseIv: byteRange(9, 12), tags: byteRange(10, 16) }],
      ["é", { ...key(3), baseIv: byteRange(9, 12), tags: byteRange(10, 16) }],
    ]);
    const text = serializeEncryption(entries, "2");
    expect(Object.keys(JSON.parse(text))).toEqual(["Z", "weight", "é"]);
    const w = entries.get("weight")!;
    expect(text).toContain(
      `"weight":{"wrapped_key":"${b64(w.wrappedKey)}","key_iv":"${b64(w.keyIv)}","key_tag":"${b64(w.keyTag)}","base_iv":"${b64(w.baseIv!)}","tags":"${b64(w.tags!)}"}`,
    );
    const parsed = parseEncryption(text);
    expect([...parsed.keys()]).toEqual(["Z", "weight", "é"]);
    expect(parsed.get("weight")).toEqual(w);
  });

  it("writes v1 entries with iv and tag, empty strings for an empty tensor", () => {
    const text = serializeEncryption(
      [["a", { ...key(1), iv: Buffer.alloc(0), tag: Buffer.alloc(0) }]],
      "1",
    );
    expect(text).toMatch(/"key_tag":"[^"]+","iv":"","tag":""}}$/);
    const entry = parseEncryption(text).get("a")!;
    expect(entry.iv).toHaveLength(0);
    expect(entry.tag).toHaveLength(0);
    expect(entry.baseIv).toBeUndefined();
  });

  it("a draft has the final text's length, also JSON-escaped, with base64 values as runs of A", () => {
    const names = ["weight", "Z", "é", 'q"uote\\back', "tab\tnl\n", "\u{1f600}", "\u0001"];
    for (const layout of ["1", "2"] as const) {
      for (const tagBytes of [0, 16, 32, 48, 2400]) {
        const entries = names.map((name, i): [string, EncryptionEntry] => [
          name,
          layout === "1"
            ? {
                ...key(i),
                iv: byteRange(i, tagBytes ? 12 : 0),
                tag: byteRange(i, tagBytes ? 16 : 0),
              }
            : { ...key(i), baseIv: byteRange(i, 12), tags: byteRange(i, tagBytes || 16) },
        ]);
        const final = serializeEncryption(entries, layout);
        const draft = serializeEncryption(entries, layout, { draft: true });
        expect(draft).not.toBe(final);
        expect(draft).toHaveLength(final.length);
        expect(JSON.stringify(draft)).toHaveLength(JSON.stringify(final).length);
        expect(Object.keys(JSON.parse(draft))).toEqual(names);
        for (const value of Object.values(JSON.parse(draft) as Record<string, object>))
          for (const text of Object.values(value)) expect(text).toMatch(/^A*$/);
      }
    }
    // A draft still refuses an entry that lacks the layout's fields.
    expect(() => serializeEncryption([["a", key(1)]], "2", { draft: true })).toThrow(TypeError);
  });

  it("refuses to write an entry without the layout's mode fields, or a name twice", () => {
    expect(() => serializeEncryption([["a", key(1)]], "2")).toThrow(TypeError);
    expect(() =>
      serializeEncryption(
        [["a", { ...key(1), baseIv: byteRange(0, 12), tags: byteRange(0, 16) }]],
        "1",
      ),
    ).toThrow(TypeError);
    const full = { ...key(1), iv: byteRange(0, 12), tag: byteRange(0, 16) };
    expect(() =>
      serializeEncryption(
        [
          ["a", full],
          ["a", full],
        ],
        "1",
      ),
    ).toThrow(TypeError);
  });

  it("ignores unknown fields (such as the docs' enc_algo) and treats null mode fields as absent", () => {
    const e = key(1);
    const text = `{"t":{"enc_algo":"aes256gcm","wrapped_key":"${b64(e.wrappedKey)}","key_iv":"${b64(e.keyIv)}","key_tag":"${b64(e.keyTag)}","iv":null,"tags":"${b64(byteRange(0, 16))}"}}`;
    const entry = parseEncryption(text).get("t")!;
    expect(entry.iv).toBeUndefined();
    expect(entry.tags).toHaveLength(16);
  });

  it("parses an empty object as no entries", () => {
    expect(parseEncryption("{}").size).toBe(0);
  });

  const good = key(1);
  const field = (name: string, value: string): string => {
    const fields: Record<string, string> = {
      wrapped_key: `"${b64(good.wrappedKey)}"`,
      key_iv: `"${b64(good.keyIv)}"`,
      key_tag: `"${b64(good.keyTag)}"`,
    };
    if (value === "<absent>") delete fields[name];
    else fields[name] = value;
    return `{"t":{${Object.entries(fields)
      .map(([k, v]) => `"${k}":${v}`)
      .join(",")}}}`;
  };

  it.each([
    ["not JSON", "{"],
    ["not an object", "[]"],
    ["an entry that is not an object", '{"t":"x"}'],
    ["a repeated tensor name", `${field("x", '""').slice(0, -1)},"t":{}}`],
    ["a missing wrapped_key", field("wrapped_key", "<absent>")],
    ["a null key_iv", field("key_iv", "null")],
    ["a numeric key_tag", field("key_tag", "5")],
    ["base64url in wrapped_key", field("wrapped_key", '"-_-_"')],
    ["whitespace in key_iv", field("key_iv", '"oKGi o6Sl"')],
    ["unpadded key_tag", field("key_tag", '"GYhezqnrqnFa1bxCFQSlJg"')],
    ["bad base64 in base_iv", field("base_iv", '"wMHCw8TFxsfIycr"')],
    ["bad base64 in tags", field("tags", '"AB=="')],
    ["a non-string iv", field("iv", "[]")],
  ])("refuses %s with ERR_ENCRYPTION_INVALID", (_name, text) => {
    expectCode(() => parseEncryption(text), "ERR_ENCRYPTION_INVALID");
  });
});
