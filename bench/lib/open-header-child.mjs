// Child of bench/header-limits.mjs: opens one file with our openFile and prints the same JSON
// as bench/py/open_header.py (ok, error, seconds, peak RSS from VmHWM, page faults).
import { readFileSync } from "node:fs";

const [dist, path, backend] = process.argv.slice(2);
const api = await import(dist);
const start = performance.now();
let ok = true;
let error = null;
try {
  const file = await api.openFile(path, { backend });
  file.names();
  await file.close();
} catch (caught) {
  const e = /** @type {{ code?: string, name?: string, message?: string }} */ (caught);
  ok = false;
  error = `${e.code ?? e.name}: ${String(e.message).slice(0, 160)}`;
}
const seconds = (performance.now() - start) / 1000;
const peak =
  Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    ok,
    error,
    seconds,
    peakRss: peak,
    minflt: usage.minorPageFault,
    majflt: usage.majorPageFault,
  }),
);
