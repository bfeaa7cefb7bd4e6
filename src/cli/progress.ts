// A one-line progress display on stderr for long writes; silent when stderr is not a terminal.
import type { Progress } from "../index.js";

export function progressReporter(
  label: string,
  enabled = process.stderr.isTTY === true,
): ((p: Progress) => void) | undefined {
  if (!enabled) return undefined;
  const started = Date.now();
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.bytesDone < p.bytesTotal) return;
    last = now;
    const percent = p.bytesTotal ? ((100 * p.bytesDone) / p.bytesTotal).toFixed(1) : "100.0";
    const rate = p.bytesDone / 1e6 / Math.max((now - started) / 1000, 1e-3);
    process.stderr.write(
      `\r${label} ${percent}% ${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB ${rate.toFixed(0)} MB/s`,
    );
    if (p.bytesDone >= p.bytesTotal) process.stderr.write("\n");
  };
}
