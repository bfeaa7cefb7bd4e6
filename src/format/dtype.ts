// The safetensors element types (FORMAT.md §1.3) and their write-order rank (§1.4).

/** A safetensors dtype name, exactly as it appears in a header (case-sensitive). */
export type Dtype =
  | "BOOL"
  | "F4"
  | "F6_E2M3"
  | "F6_E3M2"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "F8_E8M0"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "C64"
  | "F64"
  | "I64"
  | "U64";

/**
 * Every dtype in rank order, lowest first (FORMAT.md §1.4). The writer lays tensors out by
 * descending rank, so the widest types come first in the data section.
 *
 * @example
 * ```ts
 * DTYPES[0]; // "BOOL"
 * DTYPES.at(-1); // "U64"
 * ```
 */
export const DTYPES: readonly Dtype[] = Object.freeze([
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
] as const);

const BITS: Readonly<Record<Dtype, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

const RANK: ReadonlyMap<string, number> = new Map(DTYPES.map((d, i) => [d, i]));

/**
 * True when `s` is one of the safetensors dtype names (exact spelling, no case folding).
 *
 * @example
 * ```ts
 * isDtype("F16"); // true
 * isDtype("f16"); // false
 * ```
 */
export function isDtype(s: string): s is Dtype {
  return RANK.has(s);
}

/**
 * Bits per element. Sub-byte types (F4, F6_*) make byte lengths depend on the element count.
 *
 * @example
 * ```ts
 * dtypeBits("BF16"); // 16
 * dtypeBits("F4"); // 4
 * ```
 */
export function dtypeBits(d: Dtype): number {
  const bits = BITS[d];
  if (bits === undefined) throw new TypeError(`not a safetensors dtype: ${String(d)}`);
  return bits;
}

/**
 * Position of the dtype in the write-order table (FORMAT.md §1.4): BOOL is 0, U64 is 19.
 *
 * @example
 * ```ts
 * dtypeRank("F32") > dtypeRank("F16"); // true: F32 tensors are written first
 * ```
 */
export function dtypeRank(d: Dtype): number {
  const rank = RANK.get(d);
  if (rank === undefined) throw new TypeError(`not a safetensors dtype: ${String(d)}`);
  return rank;
}
