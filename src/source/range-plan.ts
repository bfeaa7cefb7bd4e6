// Turns many wanted byte ranges (chunks of tensors, plain reads) into few HTTP range requests:
// pieces closer than a gap merge into one request up to a size cap, and a piece larger than the
// cap is split, so requests can run in parallel over a bounded pool of connections. A request's
// body is scattered into the pieces it covers; gap bytes between pieces are discarded.
import type { SourcePiece } from "./byte-source.js";
import type { NativeSegment } from "./native-wire.js";

/** One request: `[start, end)` of the resource and the pieces (by index) it feeds. */
/** The smallest range a large read is cut into (see RemoteOptions.maxRangeBytes). */
export const MIN_SPLIT_BYTES = 8 << 20;

export interface FetchRange {
  start: number;
  end: number;
  pieces: number[];
}

export interface RangePlanLimits {
  /** Pieces at most this many bytes apart share a request (the gap is fetched and dropped). */
  maxGap: number;
  /** Largest request; a larger piece is split into several requests. */
  maxRange: number;
}

/**
 * Plans the requests that cover `pieces` (empty pieces need none).
 *
 * @example
 * ```ts
 * planRanges([{ offset: 0, length: 10, dest }, { offset: 12, length: 4, dest: d2 }], { maxGap: 8, maxRange: 1 << 20 });
 * // [{ start: 0, end: 16, pieces: [0, 1] }]
 * ```
 */
export function planRanges(
  pieces: readonly Pick<SourcePiece, "offset" | "length">[],
  limits: RangePlanLimits,
): FetchRange[] {
  const order = pieces
    .map((piece, index) => ({ index, start: piece.offset, end: piece.offset + piece.length }))
    .filter((p) => p.end > p.start)
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const ranges: FetchRange[] = [];
  let current: FetchRange | undefined;
  for (const p of order) {
    if (
      current &&
      p.start - current.end <= limits.maxGap &&
      Math.max(current.end, p.end) - current.start <= limits.maxRange
    ) {
      current.end = Math.max(current.end, p.end);
      current.pieces.push(p.index);
      continue;
    }
    if (p.end - p.start <= limits.maxRange) {
      current = { start: p.start, end: p.end, pieces: [p.index] };
      ranges.push(current);
      continue;
    }
    // Too large for one request: split it; the last part may take the next pieces along.
    for (let start = p.start; start < p.end; start += limits.maxRange) {
      current = { start, end: Math.min(p.end, start + limits.maxRange), pieces: [p.index] };
      ranges.push(current);
    }
  }
  return ranges;
}

/**
 * Copies the bytes of a response body, arriving at absolute offset `position`, into every piece of
 * `range` they overlap; returns the pieces that became complete. `remaining[i]` counts the bytes
 * piece i still waits for (over all the requests that feed it). `inPlace`: the bytes were received
 * straight into that piece's destination (see {@link placeIn}); it is only counted.
 *
 * @example
 * ```ts
 * for (const done of scatter(range, pieces, remaining, position, chunk)) onPiece(done);
 * ```
 */
export function scatter(
  range: FetchRange,
  pieces: readonly SourcePiece[],
  remaining: number[],
  position: number,
  bytes: Uint8Array,
  inPlace = -1,
): number[] {
  const completed: number[] = [];
  const end = position + bytes.length;
  for (const index of range.pieces) {
    const piece = pieces[index] as SourcePiece;
    const from = Math.max(position, piece.offset, range.start);
    const to = Math.min(end, piece.offset + piece.length, range.end);
    if (to <= from) continue;
    if (index !== inPlace)
      piece.dest.set(bytes.subarray(from - position, to - position), from - piece.offset);
    remaining[index] = (remaining[index] as number) - (to - from);
    if (remaining[index] === 0) completed.push(index);
  }
  return completed;
}

/**
 * Where the body bytes of `range` at `position` may be received directly: the destination of
 * the owned piece ({@link SourcePiece.owned}) that holds `position`, cut to at most `max` bytes and
 * to the piece's end. Undefined inside a gap or a caller's piece (those are copied by scatter).
 *
 * @example
 * ```ts
 * const into = placeIn(range, pieces, position, 1 << 20); // then scatter(..., into.index)
 * ```
 */
export function placeIn(
  range: FetchRange,
  pieces: readonly SourcePiece[],
  position: number,
  max: number,
): { index: number; view: Uint8Array } | undefined {
  for (const index of range.pieces) {
    const piece = pieces[index] as SourcePiece;
    const at = position - piece.offset;
    if (piece.owned !== true || at < 0 || at >= piece.length) continue;
    const end = Math.min(piece.length, at + max, range.end - piece.offset);
    return { index, view: piece.dest.subarray(at, end) };
  }
  return undefined;
}

/**
 * Where the addon may receive the body of `range` from `position` to `end` directly (see
 * native-wire.ts): the owned pieces' destinations in order, with null segments for the gaps
 * between them. Undefined when a byte there belongs to a caller's piece (not owned) or to two
 * pieces: those bytes need the copying transports.
 *
 * @example
 * ```ts
 * const segments = segmentsOf(range, pieces, range.start, range.end); // [{ dest, length }, …]
 * ```
 */
export function segmentsOf(
  range: FetchRange,
  pieces: readonly SourcePiece[],
  position: number,
  end: number,
): NativeSegment[] | undefined {
  const spans: { from: number; to: number; piece: SourcePiece }[] = [];
  for (const index of range.pieces) {
    const piece = pieces[index] as SourcePiece;
    const from = Math.max(position, piece.offset);
    const to = Math.min(end, piece.offset + piece.length);
    if (to <= from) continue;
    if (piece.owned !== true) return undefined;
    spans.push({ from, to, piece });
  }
  spans.sort((a, b) => a.from - b.from);
  const segments: NativeSegment[] = [];
  let at = position;
  for (const { from, to, piece } of spans) {
    if (from < at) return undefined; // two pieces want the same bytes
    if (from > at) segments.push({ dest: null, length: from - at });
    // A piece received whole by this request may be decrypted where it lands, by the receiver.
    const whole = from === piece.offset && to === piece.offset + piece.length;
    const plan = whole && piece.decrypt?.done === false ? piece.decrypt : undefined;
    segments.push({
      dest: piece.dest.subarray(from - piece.offset, to - piece.offset),
      length: to - from,
      ...(plan === undefined ? {} : { plan }),
    });
    at = to;
  }
  if (at < end) segments.push({ dest: null, length: end - at });
  return segments;
}

/**
 * Counts `length` bytes from `position`, received in place by the addon, against the pieces of
 * `range` they cover; returns the pieces that became complete (as {@link scatter} does).
 *
 * @example
 * ```ts
 * for (const done of countLanded(range, pieces, remaining, range.start, 4096)) onPiece(done);
 * ```
 */
export function countLanded(
  range: FetchRange,
  pieces: readonly SourcePiece[],
  remaining: number[],
  position: number,
  length: number,
): number[] {
  const completed: number[] = [];
  for (const index of range.pieces) {
    const piece = pieces[index] as SourcePiece;
    const from = Math.max(position, piece.offset, range.start);
    const to = Math.min(position + length, piece.offset + piece.length, range.end);
    if (to <= from) continue;
    remaining[index] = (remaining[index] as number) - (to - from);
    if (remaining[index] === 0) completed.push(index);
  }
  return completed;
}

/**
 * The range size for reading `pieces`: at most `cap`, and about equal ranges, a multiple of
 * `connections` of them, so that every connection is busy until the end of a large read (ranges
 * in a row of `cap` bytes leave the last round to a few connections) and each request is as
 * large as that allows (every range costs a request, a receiving thread and a JS turn). The
 * largest piece is added as slack: pieces merge whole, and without it one more short range
 * would carry the remainder. Small reads keep ranges of up to MIN_SPLIT_BYTES (or `cap`).
 *
 * @example
 * ```ts
 * evenRangeBytes(chunksOf256MiB, 64 << 20, 6); // 44.7 MiB: 6 ranges, one per connection
 * ```
 */
export function evenRangeBytes(
  pieces: readonly Pick<SourcePiece, "length">[],
  cap: number,
  connections: number,
): number {
  let wanted = 0;
  let largest = 0;
  for (const piece of pieces) {
    wanted += piece.length;
    largest = Math.max(largest, piece.length);
  }
  const rounds = Math.ceil(Math.ceil(wanted / cap) / connections);
  const even = Math.ceil(wanted / (rounds * connections)) + largest;
  return Math.min(cap, Math.max(Math.min(cap, MIN_SPLIT_BYTES), even));
}
