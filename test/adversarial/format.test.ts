// One hand-built hostile file per error code of the format core (FORMAT.md §1.5), plus resource
// attacks: every case must end in the typed error, quickly, without a crash.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";
import { parseSafetensors } from "../../src/format/header.js";
import { buildFile } from "../unit/format/build.js";
import { HOSTILE_FILES, obj, t, type HostileCase } from "../unit/format/hostile-cases.js";

function codeOf(file: Uint8Array): ErrorCode {
  try {
    parseSafetensors(file);
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e.code;
    throw e;
  }
  throw new Error("the file was accepted");
}

describe("hostile safetensors files", () => {
  it.each<HostileCase>(HOSTILE_FILES)("rejects %s", (_what, file, code) => {
    expect(codeOf(file)).toBe(code);
  });

  it("names the tensor and says what to do", () => {
    const file = buildFile(obj(t("layer.0.weight", "F32", "[2]", "[0,4]")), 4);
    expect(() => parseSafetensors(file)).toThrow(/"layer\.0\.weight".*need 8.*corrupt/);
    const offsets = buildFile(obj(t("a", "U8", "[4]", "[0,4]"), t("b", "U8", "[4]", "[2,6]")), 6);
    expect(() => parseSafetensors(offsets)).toThrow(/"b".*contiguous/);
  });

  it("fails fast and in bounded memory on 100 MB of '['", () => {
    const header = new Uint8Array(100_000_000).fill(0x5b);
    const file = buildFile(header);
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    expect(codeOf(file)).toBe("ERR_HEADER_DESERIALIZATION");
    expect(performance.now() - start).toBeLessThan(2_000);
    // The decoded text (a one-byte string of 100 MB) is the only large allocation: the parser keeps
    // at most 128 frames, where one object per '[' would take gigabytes.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(130_000_000);
  });

  it("rejects 100,000-deep nesting without exhausting the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(codeOf(buildFile(`{"__metadata__":${deep}}`))).toBe("ERR_HEADER_DESERIALIZATION");
    expect(codeOf(buildFile(`${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`))).toBe(
      "ERR_HEADER_DESERIALIZATION",
    );
  });

  it("never throws anything but a CryptoTensorsError on mutated valid files", () => {
    const valid = buildFile(
      obj(t("b", "F32", "[2]", "[0,8]"), t("w", "F16", "[2,2]", "[8,16]")),
      16,
    );
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 20_000; round++) {
      const file = valid.slice();
      for (let k = 0; k <= next() % 3; k++) file[next() % file.length] = next() & 0xff;
      const cut = next() % 4 === 0 ? file.subarray(0, next() % file.length) : file;
      try {
        parseSafetensors(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoTensorsError);
      }
    }
  });

  it("fuzz: arbitrary bytes and header-like JSON either parse or raise a typed error", () => {
    const accepts = (file: Uint8Array): void => {
      try {
        const parsed = parseSafetensors(file);
        // Whatever parses is internally consistent.
        let pos = 0;
        for (const t of parsed.tensors) {
          expect(t.dataOffsets[0]).toBe(pos);
          pos = t.dataOffsets[1];
        }
        expect(parsed.dataStart + pos).toBe(file.length);
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoTensorsError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), accepts), { numRuns: 2_000 });
    const dim = fc.oneof(
      fc.nat(4).map(String),
      fc.constantFrom(
        "-1",
        "1.0",
        "1e2",
        "18446744073709551616",
        "9007199254740993",
        '"2"',
        "null",
      ),
    );
    const entry = fc.record({
      name: fc.constantFrom("a", "b", "__metadata__", "é", ""),
      dtype: fc.constantFrom(...["U8", "F4", "F6_E2M3", "F32", "BOOL", "x", "u8"]),
      shape: fc.array(dim, { maxLength: 3 }),
      offsets: fc.array(dim, { maxLength: 3 }),
      extra: fc.boolean(),
    });
    const header = fc
      .array(entry, { maxLength: 4 })
      .map((entries) =>
        obj(
          ...entries.map(
            (e) =>
              `"${e.name}":{"dtype":"${e.dtype}","shape":[${e.shape.join(",")}],"data_offsets":[${e.offsets.join(",")}]` +
              (e.extra ? ',"x":[{}]}' : "}"),
          ),
        ),
      );
    fc.assert(
      fc.property(header, fc.nat(16), (text, dataLength) => accepts(buildFile(text, dataLength))),
      { numRuns: 5_000 },
    );
  });
});
