// Child process of scenarios/peak-rss.mjs: loads one model into one caller arena and prints the
// resident-set figures of its own address space (VmRSS before, VmHWM after). getrusage's maxrss is
// not used: it would include the parent's high-water mark, inherited across fork.
// argv: dist index.js, model path, keys.json (or "-" for a plain file).
import { readFileSync } from "node:fs";

const status = (field) =>
  Number(
    new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))[1],
  ) * 1024;
const [dist, path, keysPath] = process.argv.slice(2);
const api = await import(dist);
const keys = keysPath === "-" ? undefined : JSON.parse(readFileSync(keysPath, "utf8"));
const before = status("VmRSS");
const file = await api.openFile(path, keys ? { keys } : {});
// The addon's arena when the package has one (the recommended destination), else caller memory.
const arena = api.allocateArena
  ? api.allocateArena(file.readAllByteLength())
  : new ArrayBuffer(file.readAllByteLength());
await file.readAll({ into: arena });
await file.close();
console.log(
  JSON.stringify({
    before,
    peak: status("VmHWM"),
    arena: arena.byteLength,
    arenaKind: api.allocateArena ? "allocateArena" : "ArrayBuffer",
  }),
);
