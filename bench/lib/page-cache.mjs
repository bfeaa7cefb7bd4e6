// Page cache of freshly written benchmark files, rebuilt the way a reader finds it. A file's cached
// pages are the pages its writer dirtied, allocated (folio sizes) from whatever memory was free at
// write time: of the model-load scenario's files, the shards (written after the single files) took
// ~40% more kernel time to read than the single file's same bytes (`cat` to /dev/null: 0.17-0.21
// against 0.12-0.14 s), and the same after their cache was rebuilt by readahead (0.12 both).
// Comparing loads of such files measures the write history,
// not the loaders. rewarmPageCache flushes the files, drops only their cached pages and reads them
// back, so every file's cache is built by readahead, alike.
import { spawnSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readSync } from "node:fs";

/**
 * Flushes `paths`, drops their pages from the page cache (GNU dd's `iflag=nocache`, i.e.
 * POSIX_FADV_DONTNEED on each file alone, nothing else is evicted) and reads them back. Returns
 * false (after warning) when the pages could not be dropped (no GNU dd): the files are then only
 * read through, as before.
 *
 * @example
 * ```js
 * await api.saveFile(a, tensors);
 * await api.saveFile(b, tensors);
 * rewarmPageCache([a, b]); // a and b now read alike
 * ```
 * @param {readonly string[]} paths regular files (not directories)
 * @returns {boolean}
 */
export function rewarmPageCache(paths) {
  let dropped = true;
  for (const path of paths) {
    const fd = openSync(path, "r");
    try {
      // Dirty pages cannot be dropped: write them out first.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const dd = spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (dd.status !== 0) dropped = false;
  }
  if (!dropped)
    console.warn("rewarmPageCache: could not drop the files' cached pages (GNU dd needed)");
  const buffer = Buffer.allocUnsafe(8 << 20);
  for (const path of paths) {
    const fd = openSync(path, "r");
    try {
      while (readSync(fd, buffer, 0, buffer.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
  return dropped;
}
