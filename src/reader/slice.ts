// Turns a slice request over the leading dimensions of a row-major tensor into contiguous byte
// runs, and groups runs so that a chunked (v2) tensor decrypts only the chunks the runs touch.
import { dtypeBits, type Dtype } from "../format/dtype.js";
import { NotSupportedError } from "../errors.js";

/** `[start, stop)` along one dimension; dimensions past the list are taken whole. */
export type SliceRange = readonly [number, number];

export interface SlicePlan {
  shape: number[];
  byteLength: number;
  /** Byte runs `[start, end)` within the tensor, in output order. */
  runs: Array<[number, number]>;
}

export function planSlice(
  name: string,
  dtype: Dtype,
  shape: readonly number[],
  ranges: readonly SliceRange[],
): SlicePlan {
  if (!Array.isArray(ranges)) throw new TypeError("ranges must be an array of [start, stop] pairs");
  if (ranges.length > shape.length) {
    throw new RangeError(
      `${name} has ${shape.length} dimensions; ${ranges.length} ranges were given`,
    );
  }
  const outShape = shape.slice();
  ranges.forEach((range, dim) => {
    const size = shape[dim] as number;
    if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      !range.every((v) => Number.isSafeInteger(v))
    ) {
      throw new TypeError(`range ${dim} of ${name} must be a pair of integers [start, stop]`);
    }
    const [start, stop] = range as [number, number];
    if (start < 0 || stop < start || stop > size) {
      throw new RangeError(
        `range ${dim} [${start}, ${stop}) of ${name} is outside its dimension of size ${size}`,
      );
    }
    outShape[dim] = stop - start;
  });
  const bits = dtypeBits(dtype);
  const elements = outShape.reduce((a, b) => a * b, 1);
  if ((elements * bits) % 8 !== 0)
    throw new NotSupportedError(`slices of ${dtype} that do not end on a byte boundary`);
  const byteLength = (elements * bits) / 8;
  if (byteLength === 0 || ranges.length === 0) {
    return { shape: outShape, byteLength, runs: byteLength === 0 ? [] : [[0, byteLength]] };
  }

  // Element strides of the full tensor; the last sliced dimension and everything inside it are contiguous.
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--)
    strides[d] = (strides[d + 1] as number) * (shape[d + 1] as number);
  const last = ranges.length - 1;
  const runElements =
    ((ranges[last] as SliceRange)[1] - (ranges[last] as SliceRange)[0]) * (strides[last] as number);
  const runs: Array<[number, number]> = [];
  const index = ranges.map((r) => r[0]);
  for (;;) {
    let element = 0;
    for (let d = 0; d <= last; d++) element += (index[d] as number) * (strides[d] as number);
    const startBits = element * bits;
    const lengthBits = runElements * bits;
    if (startBits % 8 !== 0 || lengthBits % 8 !== 0) {
      throw new NotSupportedError(`slices of ${dtype} that do not start on a byte boundary`);
    }
    pushRun(runs, startBits / 8, (startBits + lengthBits) / 8);
    // Advance the odometer over the dimensions before the last sliced one.
    let d = last - 1;
    while (d >= 0) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (ranges[d] as SliceRange)[1]) break;
      index[d] = (ranges[d] as SliceRange)[0];
      d--;
    }
    if (d < 0) break;
  }
  return { shape: outShape, byteLength, runs };
}

function pushRun(runs: Array<[number, number]>, start: number, end: number): void {
  const previous = runs[runs.length - 1];
  if (previous && previous[1] === start) previous[1] = end;
  else runs.push([start, end]);
}

export interface Span {
  start: number;
  end: number;
  runs: Array<[number, number]>;
}

/** Plain data: runs closer than this are fetched in one read rather than two. */
const PLAIN_MERGE_GAP = 1 << 20;

/**
 * Groups runs into spans fetched with one read (or one decryption) each. For a chunked tensor
 * runs merge only when no chunk between them would be left untouched, so a slice decrypts no
 * chunk it does not overlap.
 */
export function groupRuns(
  runs: ReadonlyArray<readonly [number, number]>,
  chunkSize: number | null,
): Span[] {
  const spans: Span[] = [];
  for (const [start, end] of runs) {
    const current = spans[spans.length - 1];
    const merge =
      current !== undefined &&
      (chunkSize === null
        ? start - current.end < PLAIN_MERGE_GAP
        : Math.floor(start / chunkSize) - Math.floor((current.end - 1) / chunkSize) <= 1);
    if (current && merge) {
      current.end = end;
      current.runs.push([start, end]);
    } else {
      spans.push({ start, end, runs: [[start, end]] });
    }
  }
  return spans;
}
