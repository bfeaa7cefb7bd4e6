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
 * `hugeFolios`: read them back through a mapping advised MADV_HUGEPAGE (python3), so that every
 * file's cache is made of 2 MiB folios where memory allows. Read back with read(2), a file's cache
 * is a mix of folio sizes that depends on free memory at that moment (37-91% of a file in 2 MiB
 * folios here), and reading it costs up to ~3 x the kernel time of the same bytes in 2 MiB folios
 * (`cat` of the 2.4 GB model file: 0.25-0.32 s at 37%, 0.08-0.09 s after such a read-back), which
 * moves every ratio between two layouts. Falls back to read(2) (after warning) without python3.
 * @param {readonly string[]} paths regular files (not directories)
 * @param {{ hugeFolios?: boolean }} [options]
 * @returns {boolean}
 */
export function rewarmPageCache(paths, { hugeFolios = false } = {}) {
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
  if (hugeFolios && readBackHuge(paths)) return dropped;
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

// Maps each file, advises MADV_HUGEPAGE (readahead then allocates 2 MiB folios) and faults the
// whole file in (MADV_POPULATE_READ, Linux 5.14; else one read per page).
const READ_BACK_HUGE = `
import mmap, os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            continue
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        try:
            m.madvise(mmap.MADV_HUGEPAGE)
            try:
                m.madvise(22)  # MADV_POPULATE_READ
            except OSError:
                total = 0
                for offset in range(0, size, 4096):
                    total += m[offset]
        finally:
            m.close()
    finally:
        os.close(fd)
`;

/**
 * Reads `paths` back into the page cache through MADV_HUGEPAGE mappings; false (after warning)
 * when that could not be done.
 * @param {readonly string[]} paths
 */
function readBackHuge(paths) {
  const run = spawnSync("python3", ["-c", READ_BACK_HUGE, ...paths], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (run.status === 0) return true;
  console.warn(
    `rewarmPageCache: could not read the files back through huge-page mappings (${run.error?.message ?? run.stderr?.toString().trim()}); reading them back with read(2)`,
  );
  return false;
}
