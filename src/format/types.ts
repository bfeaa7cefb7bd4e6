// Structures produced by the header parser and consumed by the reader, writer and signer.
import type { Dtype } from "./dtype.js";

/** One tensor entry of a parsed header, validated against the file. */
export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** `[begin, end)` relative to the data section (FORMAT.md §1.1); exact integers (validated ≤ file size). */
  dataOffsets: [number, number];
  /** Position of the entry in the header text: breaks (begin, end) ties when signing (FORMAT.md §4.4). */
  headerIndex: number;
}

export interface ParsedHeader {
  /** N of FORMAT.md §1.1: the header's byte length, padding included. */
  headerLength: number;
  /** Absolute file offset where the data section starts (8 + N). */
  dataStart: number;
  /** Tensors sorted by (begin, end, headerIndex): signing and data order. */
  tensors: TensorEntry[];
  /** `__metadata__` entries in header order, or null when absent/`null`. Includes reserved `__…__` keys. */
  metadata: Array<[string, string]> | null;
  /**
   * Unknown fields found inside tensor entries (the reference drops them silently). Their values
   * are not kept: they are not covered by the header signature (FORMAT.md §4.3, §8.5). Present
   * only when there was at least one, so callers can warn or refuse.
   */
  ignoredFields?: Array<{ tensor: string; field: string }>;
}
