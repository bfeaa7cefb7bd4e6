// The guest kernel's free page reporting (a virtual machine's balloon device, e.g. Firecracker's):
// memory a process frees is handed back to the host, and the next first touch of it waits for the
// host to fault it in again. On the development VM (min_free_ms=0: reported at once) touching 1 GiB
// of fresh memory took 80-95 ms, or 500-3,100 ms when it came back from the host; with freed
// memory held in the guest for a minute (min_free_ms=60000) every touch after the first took
// 80-95 ms (2026-12-02; README Performance). A benchmark of fresh-memory loads then measures the
// host.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DIR = "/sys/module/page_reporting/parameters";
const SHOWN = ["page_reporting_order", "min_free_ms", "max_waiting_mib"];

/**
 * The reporting settings in force, or undefined on a machine without free page reporting.
 * @example pageReporting() // { max_waiting_mib: "1024", min_free_ms: "0", page_reporting_order: "9" }
 * @returns {Record<string, string> | undefined}
 */
export function pageReporting() {
  if (!existsSync(DIR)) return undefined;
  /** @type {Record<string, string>} */
  const settings = {};
  for (const name of readdirSync(DIR).sort()) {
    if (!SHOWN.includes(name)) continue;
    try {
      settings[name] = readFileSync(join(DIR, name), "utf8").trim();
    } catch {
      // unreadable: left out
    }
  }
  return settings;
}

/**
 * Holds freed memory in the guest for `ms` before it is reported to the host (root only), and
 * returns the function that puts the previous setting back. Throws when it cannot: the caller
 * asked for it, so a run that silently kept the host's reclaim would be mislabelled.
 * @example const restore = holdFreedMemory(60_000); try { run() } finally { restore() }
 * @param {number} ms
 * @returns {() => void}
 */
export function holdFreedMemory(ms) {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new RangeError(
      `CRYPTOTENSORS_BENCH_HOLD_FREED_MS must be a whole number of ms, got ${ms}`,
    );
  const path = join(DIR, "min_free_ms");
  if (!existsSync(path))
    throw new Error(`holding freed memory needs ${path} (a guest with free page reporting)`);
  const before = readFileSync(path, "utf8").trim();
  try {
    writeFileSync(path, String(ms));
  } catch (error) {
    throw new Error(
      `cannot write ${path} (${/** @type {Error} */ (error).message}): run as root, or leave CRYPTOTENSORS_BENCH_HOLD_FREED_MS unset`,
    );
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    writeFileSync(path, before);
  };
}
