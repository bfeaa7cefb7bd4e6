// Types of bounds.mjs for the TypeScript tests (test/unit/bench-bounds.test.ts).
export function lowerBound(parts: {
  floors?: Record<string, number | null | undefined>;
  cpu?: Record<string, number | null | undefined>;
  cores: number;
}): { ms: number; by: string; terms: Record<string, number> };
export function judge(
  measured: number | null | undefined,
  direction: "<=" | ">=",
  target: number,
  bound?: number | null,
): string;
export function judgeNoisy(
  measured: number | null | undefined,
  target: number,
  context: { control?: number | null; median?: number | null },
): string;
export function fmt(x: number): string;
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null;
export interface Timed {
  best: number;
  cpuBest: number;
}
export interface FloorNames {
  memcpyFresh: string;
  aead: string;
  populate: string;
  sealFresh: string;
  memcpyWarm: string;
  sealWarm: string;
}
interface Shown {
  ms: number | null;
  by: string;
  terms: Record<string, number | null>;
}
export function loadBounds(
  stats: Record<string, Timed | undefined>,
  names: FloorNames,
  compare: { cores: number; plainFresh?: string; plainWarm?: string; reference?: string },
): {
  fresh: Shown & {
    "encrypted / plaintext": number | null;
    "reference / encrypted": number | null;
    wall: Shown & {
      "encrypted / plaintext": number | null;
      "reference / encrypted": number | null;
    };
  };
  warm: Shown & {
    "encrypted / plaintext": number | null;
    wall: Shown & { "encrypted / plaintext": number | null };
  };
  reachable: {
    "seal streaming / memcpy, fresh arena": number | null;
    "seal streaming / memcpy, warm arena": number | null;
  };
  landThenDecrypt: {
    fresh: { ms: number | null; "encrypted / plaintext": number | null };
    warm: { ms: number | null; "encrypted / plaintext": number | null };
  };
};
export interface DesignNames {
  preadFresh: string;
  mappedFresh: string;
  preadWarm: string;
  mappedWarm: string;
  aead: string;
  /** The fused kernel (AES-GCM sealing streamed) and the same pass without the cipher. */
  sealFresh?: string;
  memcpyFresh?: string;
  sealWarm?: string;
  memcpyWarm?: string;
}
interface DesignBound {
  "land then decrypt ms": number | null;
  "stream from the mapping ms": number | null;
  /** The same design if the AEAD hid entirely under the copy (no fused kernel measured). */
  "stream from the mapping, AEAD hidden entirely ms": number | null;
  /** Whether the fused kernel's cost was measured (else the design is the generous form). */
  "fused AEAD measured": boolean;
  /** The plaintext load's best minus its pread floor's best (>= 0), added to both designs. */
  "plaintext load beyond its landing floor ms": number | null;
  ms: number | null;
  by: "land then decrypt" | "stream from the mapping";
  "encrypted / plaintext": number | null;
  "land then decrypt / plaintext": number | null;
  "stream from the mapping / plaintext": number | null;
  "reference / encrypted"?: number | null;
}
export function designBounds(
  stats: Record<string, Timed | undefined>,
  names: DesignNames,
  compare: { cores: number; plainFresh?: string; plainWarm?: string; reference?: string },
): { fresh: DesignBound; warm: DesignBound };
