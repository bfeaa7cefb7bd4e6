import { setImmediate } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../../src/errors.js";
import { parseJson, type JsonValue } from "../../../src/format/json.js";

function errorOf(fn: () => unknown): CryptoTensorsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e;
    throw e;
  }
  throw new Error("expected a CryptoTensorsError");
}

/** Converts to plain JS for comparison with JSON.parse (numbers via Number). */
function toPlain(v: JsonValue): unknown {
  switch (v.type) {
    case "object":
      return Object.fromEntries(v.entries.map(([k, x]) => [k, toPlain(x)]));
    case "array":
      return v.items.map(toPlain);
    case "number":
      return Number(v.raw);
    case "null":
      return null;
    default:
      return v.value;
  }
}

describe("parseJson", () => {
  it("keeps object entries in source order and numbers as raw text", () => {
    const v = parseJson(' {"b":18446744073709551615,"a":[true,false,null,-1.5e+3],"0":{}}\t\r\n');
    expect(v).toEqual({
      type: "object",
      entries: [
        ["b", { type: "number", raw: "18446744073709551615" }],
        [
          "a",
          {
            type: "array",
            items: [
              { type: "bool", value: true },
              { type: "bool", value: false },
              { type: "null" },
              { type: "number", raw: "-1.5e+3" },
            ],
          },
        ],
        ["0", { type: "object", entries: [] }],
      ],
    });
  });

  it("decodes every escape, including surrogate pairs", () => {
    const v = parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\\uFFFF"');
    expect(v).toEqual({ type: "string", value: '"\\/\b\f\n\r\tAé\u{1F600}\uFFFF' });
    expect(parseJson('"é\u2028😀"')).toEqual({ type: "string", value: "é\u2028😀" });
  });

  it("gives the same strings, numbers and errors through its regular-expression fast paths", () => {
    // Strings are delimited by a regular expression and decoded by JSON.parse unless they hold a
    // \u escape; numbers are matched by a regular expression unless it stops at '.', 'e' or 'E'
    // (issue 13). Runs of backslashes before a quote, escaped quotes, long tokens and every error
    // must come out as the character-by-character path gives them.
    expect(parseJson(`"${"\\\\".repeat(100_000)}"`)).toEqual({
      type: "string",
      value: "\\".repeat(100_000),
    });
    expect(parseJson(`["${'\\"'.repeat(50_000)}x","\\\\\\"",""]`)).toEqual({
      type: "array",
      items: [
        { type: "string", value: `${'"'.repeat(50_000)}x` },
        { type: "string", value: '\\"' },
        { type: "string", value: "" },
      ],
    });
    expect(parseJson('"ab\\u0041\\"c"')).toEqual({ type: "string", value: 'abA"c' });
    const failures: Array<[string, string]> = [
      ['"ab\u0001c"', "control character inside a string (it must be escaped) at character 3"],
      ['"a\\qb"', "invalid escape sequence in a string at character 2"],
      ['"abc', "unterminated string at character 4"],
      ['"a\\"', "unterminated string at character 4"],
      ['"\\ud800"', "lone leading surrogate in a \\u escape"],
      ["[1.]", "invalid number (digits expected after '.') at character 3"],
      ["[1e+]", "invalid number (exponent digits expected) at character 4"],
      ["[-]", "invalid number at character 2"],
      ["[01]", "expected ',' or ']' at character 2"],
    ];
    for (const [text, message] of failures) {
      const error = errorOf(() => parseJson(text));
      expect(error.code).toBe("ERR_HEADER_DESERIALIZATION");
      expect(error.message).toContain(message);
    }
    expect(parseJson("[0.5e-3,-0,10,1E+2]")).toEqual({
      type: "array",
      items: ["0.5e-3", "-0", "10", "1E+2"].map((raw) => ({ type: "number", raw })),
    });
  });

  it("agrees with JSON.parse on valid documents", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(toPlain(parseJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a duplicate key at any level and names its path", () => {
    const top = errorOf(() => parseJson('{"a":1,"a":2}'));
    expect(top.code).toBe("ERR_HEADER_DUPLICATE_KEY");
    expect(top.message).toContain('"a"');
    const nested = errorOf(() => parseJson('{"w":{"dtype":"F32","x":[{"k":1,"k":2}]}}'));
    expect(nested.code).toBe("ERR_HEADER_DUPLICATE_KEY");
    expect(nested.message).toContain('"w" → "x" → [0] → "k"');
    // Escapes are decoded before comparison: "\u0061" is "a".
    expect(errorOf(() => parseJson('{"a":1,"\\u0061":2}')).code).toBe("ERR_HEADER_DUPLICATE_KEY");
  });

  it.each([
    ["empty", ""],
    ["whitespace only", "   "],
    ["trailing comma in object", '{"a":1,}'],
    ["trailing comma in array", "[1,]"],
    ["missing colon", '{"a" 1}'],
    ["single quotes", "{'a':1}"],
    ["unquoted key", "{a:1}"],
    ["comment", "{} // c"],
    ["trailing data", "{} {}"],
    ["NUL padding", "{}\u0000"],
    ["raw control character", '"a\u0001"'],
    ["raw newline in string", '"a\nb"'],
    ["bad escape", '"\\x41"'],
    ["short unicode escape", '"\\u12"'],
    ["lone high surrogate", '"\\ud800"'],
    ["high surrogate then text", '"\\ud800abcdef"'],
    ["high surrogate then non-low", '"\\ud800\\u0041"'],
    ["lone low surrogate", '"\\udc00"'],
    ["leading zero", "01"],
    ["plus sign", "+1"],
    ["bare minus", "-"],
    ["dot without digits", "1."],
    ["leading dot", ".5"],
    ["exponent without digits", "1e"],
    ["NaN", "NaN"],
    ["Infinity", "Infinity"],
    ["truncated literal", "tru"],
    ["capitalized literal", "True"],
    ["unterminated string", '"abc'],
    ["unterminated object", '{"a":1'],
    ["unterminated array", "[1,2"],
    ["non-breaking space as whitespace", "\u00a0{}"],
    ["byte order mark", "\ufeff{}"],
  ])("rejects %s", (_name, text) => {
    expect(errorOf(() => parseJson(text)).code).toBe("ERR_HEADER_DESERIALIZATION");
  });

  it("limits nesting depth without recursion", () => {
    expect(() => parseJson("[".repeat(128) + "]".repeat(128))).not.toThrow();
    expect(errorOf(() => parseJson("[".repeat(129) + "]".repeat(129))).code).toBe(
      "ERR_HEADER_DESERIALIZATION",
    );
    expect(errorOf(() => parseJson('{"a":'.repeat(100_000))).message).toContain(
      "nesting deeper than 128",
    );
    // Even with no practical limit, 100,000 levels do not exhaust the JS stack.
    const deep = parseJson("[".repeat(100_000) + "]".repeat(100_000), { maxDepth: 1_000_000 });
    expect(deep.type).toBe("array");
    expect(() => parseJson("[]", { maxDepth: 0 })).toThrow(RangeError);
  });

  it("parses large documents in linear time", async () => {
    // Complexity, not speed: 8x the entries must cost far less than the 64x a quadratic parser
    // (e.g. a duplicate-key scan per member) would. Best-of-3 CPU time keeps a loaded machine's
    // descheduling out of the ratio. Each parse returns to the event loop after it (six parses of
    // up to 200,000 entries are seconds of synchronous work on a loaded machine: vitest's worker
    // RPC must not wait for all of them).
    const documentOf = (n: number) =>
      `{${Array.from(
        { length: n },
        (_, i) => `"t${i}":{"dtype":"F32","shape":[${i}],"data_offsets":[0,0]}`,
      ).join(",")}}`;
    const bestCpuMs = async (text: string, entries: number) => {
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const start = process.cpuUsage();
        const v = parseJson(text);
        const used = process.cpuUsage(start);
        expect(v.type === "object" && v.entries.length).toBe(entries);
        best = Math.min(best, (used.user + used.system) / 1000);
        await setImmediate();
      }
      return best;
    };
    const small = await bestCpuMs(documentOf(25_000), 25_000);
    const large = await bestCpuMs(documentOf(200_000), 200_000);
    expect(large / Math.max(small, 1)).toBeLessThan(24);
  });
});
