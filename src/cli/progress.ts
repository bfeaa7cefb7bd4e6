// The live progress line of long CLI work on stderr (percent, MB, rate, ETA) and one final summary
// line; only when stderr is a terminal, so pipes and logs stay clean. `--quiet` turns it off.
import type { Progress } from "../index.js";

const MB = 1e6;

/** `93 s` → `1:33`, `3723 s` → `1:02:03`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The text of one progress line at `elapsed` seconds; the ETA assumes the rate so far holds. */
export function progressLine(label: string, p: Progress, elapsed: number): string {
  const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
  const rate = p.bytesDone / Math.max(elapsed, 1e-3);
  const eta = rate > 0 ? formatDuration((p.bytesTotal - p.bytesDone) / rate) : "?";
  return `${label} ${(100 * fraction).toFixed(1)}% ${(p.bytesDone / MB).toFixed(1)}/${(p.bytesTotal / MB).toFixed(1)} MB, ${(rate / MB).toFixed(0)} MB/s, ETA ${eta}`;
}

/** The summary printed once the work is complete. */
export function finalLine(label: string, bytes: number, elapsed: number): string {
  const rate = bytes / Math.max(elapsed, 1e-3);
  return `${label}: ${(bytes / MB).toFixed(1)} MB in ${elapsed.toFixed(1)} s (${(rate / MB).toFixed(0)} MB/s)`;
}

/**
 * An `onProgress` callback drawing the live line (at most every 100 ms) and, at 100 %, the
 * final line; `undefined` when stderr is not a terminal (or `enabled` is false).
 *
 * @example
 * ```ts
 * const onProgress = values.quiet ? undefined : progressReporter("decrypting", "decrypted");
 * ```
 */
export function progressReporter(
  label: string,
  doneLabel = label,
  enabled = process.stderr.isTTY === true,
  write: (text: string) => void = (text) => process.stderr.write(text),
  now: () => number = Date.now,
): ((p: Progress) => void) | undefined {
  if (!enabled) return undefined;
  const started = now();
  let last = 0;
  let finished = false;
  return (p) => {
    if (finished) return;
    const t = now();
    const done = p.bytesDone >= p.bytesTotal;
    if (!done && t - last < 100) return;
    last = t;
    const elapsed = (t - started) / 1000;
    if (done) {
      finished = true;
      // \x1b[2K clears the live line before the summary replaces it.
      write(`\r\x1b[2K${finalLine(doneLabel, p.bytesTotal, elapsed)}\n`);
      return;
    }
    write(`\r\x1b[2K${progressLine(label, p, elapsed)}`);
  };
}
