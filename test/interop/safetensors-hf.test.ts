// Cross-checks the format core against the real HF `safetensors` 0.7.0 Python package (issue 2
// item 4): files HF writes parse in ours with the same tensors and bytes, files we write load in
// HF with the same values, and our writer reproduces HF's bytes exactly.
import { tempDir } from "../support/temp-dir.js";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DTYPES, type Dtype } from "../../src/format/dtype.js";
import { parseSafetensors } from "../../src/format/header.js";
import { planLayout, serializeHeader } from "../../src/format/serialize.js";
import { tensorByteLength } from "../../src/format/size.js";
import { concat } from "../unit/format/build.js";
import { HOSTILE_FILES } from "../unit/format/hostile-cases.js";
import { runPython } from "./python-env.js";

type Metadata = Record<string, string> | null;
interface Tensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}
interface Case {
  label: string;
  api: "numpy" | "serialize";
  tensors: Tensor[];
  metadata: Metadata;
}
interface HfTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: string;
}
interface HfFile {
  ok: boolean;
  error?: string;
  metadata: Metadata;
  tensors: HfTensor[];
  numpy: Record<string, { dtype: string; shape: number[]; data: string }> | null;
}

const NUMPY_DTYPES: Dtype[] = [
  "BOOL",
  "U8",
  "I8",
  "I16",
  "U16",
  "F16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
];
const NUMPY_NAME: Partial<Record<Dtype, string>> = {
  BOOL: "bool",
  U8: "uint8",
  I8: "int8",
  I16: "int16",
  U16: "uint16",
  F16: "float16",
  I32: "int32",
  U32: "uint32",
  F32: "float32",
  C64: "complex64",
  F64: "float64",
  I64: "int64",
  U64: "uint64",
};
// F6 dtypes are not known to HF's Python binding ("dtype float6_e2m3 is not covered").
const HF_DTYPES = DTYPES.filter((d) => !d.startsWith("F6"));

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function tensor(name: string, dtype: Dtype, shape: number[], seed = 1): Tensor {
  const data = new Uint8Array(tensorByteLength(dtype, shape));
  // numpy bools must be 0/1; other bytes are arbitrary (NaN payloads survive: no float conversion).
  for (let i = 0; i < data.length; i++)
    data[i] = dtype === "BOOL" ? (i + seed) & 1 : (i * 37 + seed * 11) & 0xff;
  return { name, dtype, shape, data };
}

/** Our writer: prefix from serializeHeader, then the data in layout order. */
function writeOurs(c: Case): Uint8Array {
  const layout = planLayout(c.tensors);
  const byName = new Map(c.tensors.map((t) => [t.name, t.data]));
  return concat(serializeHeader(layout, c.metadata), ...layout.map((l) => byName.get(l.name)!));
}

const fixed: Case[] = [
  { label: "the empty file", api: "numpy", tensors: [], metadata: null },
  {
    label: "every numpy dtype, empty tensors and scalars",
    api: "numpy",
    tensors: [
      ...NUMPY_DTYPES.map((d, i) => tensor(`t_${d.toLowerCase()}`, d, [2, 3], i)),
      tensor("flag", "BOOL", [3]),
      tensor("half", "F16", [2, 2]),
      tensor("long", "I64", [2]),
      tensor("scalar_f32", "F32", []),
      tensor("scalar_bool", "BOOL", []),
      tensor("empty_u8", "U8", [0]),
      tensor("empty_f64", "F64", [0, 3]),
      tensor("empty_i64", "I64", [4, 0, 2]),
    ],
    metadata: { format: "np" },
  },
  {
    label: "unicode names that sort differently in UTF-16 and UTF-8",
    api: "numpy",
    tensors: [
      tensor("😀", "F32", [1]),
      tensor("\uFF01", "F32", [1]),
      tensor("a", "F32", [1]),
      tensor("B", "F32", [1]),
      tensor("é/\u2028", "F32", [2]),
    ],
    metadata: null,
  },
  {
    label: "a metadata entry with unicode, control characters and escapes",
    api: "numpy",
    tensors: [tensor("x", "U8", [3])],
    metadata: { "ключ\u0001/\u2028\u007f": 'v"\\\n\t\u0000\u001f\b\fé😀' },
  },
  {
    label: "tensors with empty metadata",
    api: "serialize",
    tensors: [tensor("x", "I8", [2])],
    metadata: {},
  },
  { label: "metadata without tensors", api: "serialize", tensors: [], metadata: { only: "key" } },
  {
    label: "non-numpy dtypes through the Rust-level API",
    api: "serialize",
    tensors: [
      tensor("bf", "BF16", [3, 2]),
      tensor("e5m2", "F8_E5M2", [4]),
      tensor("e4m3", "F8_E4M3", [2, 2]),
      tensor("e8m0", "F8_E8M0", []),
      tensor("fp4", "F4", [3, 4]),
      tensor("fp4_empty", "F4", [0, 2]),
      tensor("mask", "BOOL", [2]),
    ],
    metadata: { format: "pt" },
  },
  {
    label: "several metadata keys (HF writes them in hash order)",
    api: "serialize",
    tensors: [tensor("w", "F16", [2]), tensor("b", "F32", [1])],
    metadata: { z: "1", a: "2", m: "3", é: "4", "😀": "5", "\uFF01": "6", "": "7" },
  },
];

// Seeded random cases: any HF-known dtype, unicode names, 0–1 metadata keys (so bytes are exact).
const nameArb = fc
  .string({ unit: "grapheme", minLength: 0, maxLength: 8 })
  .filter((s) => s !== "__metadata__");
const randomArb = fc.record({
  api: fc.constantFrom<"numpy" | "serialize">("numpy", "serialize"),
  specs: fc.uniqueArray(
    fc.record({
      name: nameArb,
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      pick: fc.nat(),
    }),
    { selector: (t) => t.name, maxLength: 6 },
  ),
  metadata: fc.option(
    fc.dictionary(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), { maxKeys: 1 }),
  ),
});
const random: Case[] = fc.sample(randomArb, { numRuns: 40, seed: 20261126 }).map((r, i) => {
  const dtypes = r.api === "numpy" ? NUMPY_DTYPES : HF_DTYPES;
  const tensors = r.specs.map((s, k) => {
    const dtype = dtypes[s.pick % dtypes.length]!;
    // F4 needs an even last dimension (whole bytes, and HF's binding counts pairs).
    const shape =
      dtype === "F4"
        ? [...(s.shape.length ? s.shape : [1]).slice(0, -1), 2 * ((s.shape.at(-1) ?? 1) || 1)]
        : s.shape;
    return tensor(s.name, dtype, shape, i + k);
  });
  // Empty metadata without tensors hits HF's invalid-JSON writer bug (tested on its own below).
  const metadata =
    tensors.length === 0 && r.metadata !== null && Object.keys(r.metadata).length === 0
      ? null
      : r.metadata;
  return { label: `random case ${i}`, api: r.api, tensors, metadata };
});

const cases = [...fixed, ...random];
const dir = tempDir("ct-hf-");
let hfBytes: Uint8Array[];
let oursBytes: Uint8Array[];
let hfReadsOurs: HfFile[];
let hfReadsHf: HfFile[];

beforeAll(async () => {
  oursBytes = cases.map((c, i) => {
    const bytes = writeOurs(c);
    writeFileSync(join(dir, `ours-${i}.safetensors`), bytes);
    return bytes;
  });
  await runPython("hf_write.py", {
    cases: cases.map((c, i) => ({
      path: join(dir, `hf-${i}.safetensors`),
      api: c.api,
      metadata: c.metadata,
      tensors: c.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        data: hex(t.data),
      })),
    })),
  });
  hfBytes = cases.map((_, i) => new Uint8Array(readFileSync(join(dir, `hf-${i}.safetensors`))));
  const files = (prefix: string) =>
    cases.map((c, i) => ({
      path: join(dir, `${prefix}-${i}.safetensors`),
      numpy: c.api === "numpy",
    }));
  hfReadsOurs = (await runPython<{ files: HfFile[] }>("hf_read.py", { files: files("ours") }))
    .files;
  hfReadsHf = (await runPython<{ files: HfFile[] }>("hf_read.py", { files: files("hf") })).files;
});

function expectSameContent(c: Case, file: Uint8Array): void {
  const parsed = parseSafetensors(file);
  const byName = new Map(c.tensors.map((t) => [t.name, t]));
  expect(parsed.tensors.map((t) => t.name).sort()).toEqual([...byName.keys()].sort());
  for (const t of parsed.tensors) {
    const want = byName.get(t.name)!;
    expect({ dtype: t.dtype, shape: t.shape }).toEqual({ dtype: want.dtype, shape: want.shape });
    expect(
      hex(file.subarray(parsed.dataStart + t.dataOffsets[0], parsed.dataStart + t.dataOffsets[1])),
    ).toBe(hex(want.data));
  }
  expect(parsed.metadata === null ? null : Object.fromEntries(parsed.metadata)).toEqual(c.metadata);
}

describe("HF safetensors 0.7.0 cross-checks", () => {
  it.each(cases.map((c, i) => [c.label, i] as const))(
    "%s: HF's file parses in ours with the same tensors",
    (_label, i) => {
      expectSameContent(cases[i]!, hfBytes[i]!);
    },
  );

  it.each(cases.map((c, i) => [c.label, i] as const))(
    "%s: our file loads in HF with the same values",
    (_label, i) => {
      const c = cases[i]!;
      const read = hfReadsOurs[i]!;
      expect(read.error).toBeUndefined();
      expect(read.metadata).toEqual(c.metadata);
      const want = Object.fromEntries(
        c.tensors.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: hex(t.data) }]),
      );
      expect(Object.fromEntries(read.tensors.map(({ name, ...rest }) => [name, rest]))).toEqual(
        want,
      );
      if (c.api === "numpy") {
        const viaNumpy = Object.fromEntries(
          c.tensors.map((t) => [
            t.name,
            { dtype: NUMPY_NAME[t.dtype], shape: t.shape, data: hex(t.data) },
          ]),
        );
        expect(read.numpy).toEqual(viaNumpy);
      }
    },
  );

  it.each(cases.map((c, i) => [c.label, i] as const))(
    "%s: our writer reproduces HF's bytes",
    (_label, i) => {
      const c = cases[i]!;
      const ours = oursBytes[i]!;
      const hf = hfBytes[i]!;
      if (c.metadata === null || Object.keys(c.metadata).length <= 1) {
        expect(hex(ours)).toBe(hex(hf));
        return;
      }
      // HF 0.7.0 serializes __metadata__ from a HashMap, so several keys come out in hash order (the
      // cryptotensors fork sorts them, like us). Everything else must match byte for byte.
      expect(ours.length).toBe(hf.length);
      const strip = (b: Uint8Array) =>
        new TextDecoder().decode(b).replace(/"__metadata__":\{.*?\},"/, '"__metadata__":{…},"');
      expect(strip(hf)).toBe(strip(ours));
      const parsed = parseSafetensors(hf);
      expect(serializeHeader(parsed.tensors, parsed.metadata)).toEqual(
        ours.subarray(0, parsed.dataStart),
      );
    },
  );

  it("HF writes invalid JSON for empty metadata without tensors; we write a valid header instead", async () => {
    const c: Case = { label: "empty", api: "serialize", tensors: [], metadata: {} };
    const path = join(dir, "empty-metadata-hf.safetensors");
    const oursPath = join(dir, "empty-metadata-ours.safetensors");
    await runPython("hf_write.py", {
      cases: [{ path, api: "serialize", tensors: [], metadata: {} }],
    });
    const hf = new Uint8Array(readFileSync(path));
    // serde_json's serialize_map(Some(0)) closes the map at once: `{},"__metadata__":{}}`.
    expect(new TextDecoder().decode(hf.subarray(8)).trimEnd()).toBe('{},"__metadata__":{}}');
    expect(() => parseSafetensors(hf)).toThrow(
      expect.objectContaining({ code: "ERR_HEADER_DESERIALIZATION" }),
    );
    const ours = writeOurs(c);
    expect(new TextDecoder().decode(ours.subarray(8))).toBe('{"__metadata__":{}}     ');
    writeFileSync(oursPath, ours);
    const [hfSelf, hfOurs] = (
      await runPython<{ files: HfFile[] }>("hf_read.py", {
        files: [
          { path, numpy: true },
          { path: oursPath, numpy: true },
        ],
      })
    ).files;
    expect(hfSelf?.ok).toBe(false);
    expect(hfOurs).toMatchObject({ ok: true, metadata: {}, tensors: [] });
  });

  it("HF reads back its own files (sanity check of the harness)", () => {
    hfReadsHf.forEach((read, i) => expect(read.ok, cases[i]!.label).toBe(true));
  });

  it("rejects every hostile file our parser rejects, with the matching error (except where we are stricter)", async () => {
    // Display strings of the reference's SafeTensorError variants, per our code.
    const hfMessage: Partial<Record<string, RegExp>> = {
      ERR_HEADER_TOO_SMALL: /header too small/,
      ERR_HEADER_TOO_LARGE: /header too large/,
      ERR_INVALID_HEADER_LENGTH: /invalid header length/,
      ERR_INVALID_HEADER: /invalid UTF-8 in header/,
      ERR_HEADER_DESERIALIZATION: /invalid JSON in header/,
      ERR_HEADER_DUPLICATE_KEY: /invalid JSON in header: duplicate field/,
      ERR_INVALID_DTYPE: /invalid JSON in header: unknown variant/,
      ERR_TENSOR_INVALID_OFFSET: /invalid offset for tensor/,
      ERR_VALIDATION_OVERFLOW: /overflow computing buffer size/,
      ERR_MISALIGNED_SLICE: /byte boundary/,
      ERR_TENSOR_INVALID_INFO: /invalid shape, data type, or offset for tensor/,
      ERR_METADATA_INCOMPLETE_BUFFER: /incomplete metadata, file not fully covered/,
    };
    const paths = HOSTILE_FILES.map(([, file], i) => {
      const path = join(dir, `hostile-${i}.safetensors`);
      writeFileSync(path, file);
      return { path, numpy: false };
    });
    const results = (await runPython<{ files: HfFile[] }>("hf_read.py", { files: paths })).files;
    HOSTILE_FILES.forEach(([what, , code, hfAccepts], i) => {
      const result = results[i]!;
      if (hfAccepts) expect(result.ok, what).toBe(true);
      else expect(result.error, what).toMatch(hfMessage[code]!);
    });
  });
});
