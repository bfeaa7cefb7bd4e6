// Child process of scenarios/peak-rss.mjs: loads one model into one caller arena and prints the
// resident-set figures of its own address space at each step: bare Node (before the package is
// imported: the floor no package can go below), after `import`, after `openFile`, and the peak
// (VmHWM) of the whole run, with its anonymous/file-backed split at the end (file-backed pages
// are Node's and the addon's code, shared with every other process mapping them). getrusage's
// maxrss is not used: it would include the parent's high-water mark, inherited across fork.
// argv: dist index.js, model path, keys.json (or "-" for a plain file).
import { readFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";

const status = () => {
  const text = readFileSync("/proc/self/status", "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)[1]) * 1024;
  return {
    rss: field("VmRSS"),
    peak: field("VmHWM"),
    anon: field("RssAnon"),
    file: field("RssFile"),
  };
};
const [dist, path, keysPath] = process.argv.slice(2);
const node = status().rss;
const api = await import(dist);
const imported = status().rss;
const keys = keysPath === "-" ? undefined : JSON.parse(readFileSync(keysPath, "utf8"));
const file = await api.openFile(path, keys ? { keys } : {});
const opened = status().rss;
// The addon's arena when the package has one (the recommended destination), else caller memory.
const arena = api.allocateArena
  ? api.allocateArena(file.readAllByteLength())
  : new ArrayBuffer(file.readAllByteLength());
await file.readAll({ into: arena });
await file.close();
const end = status();
// Resident pages of the addon's own file (its code and read-only data): file-backed and shared,
// but counted in RSS; how many depends on how the page cache holds the file (a freshly linked
// .node can sit in large folios that are mapped whole, several MiB more than a copied one).
let addon = 0;
let inAddon = false;
for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
  const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
  if (mapping) inAddon = mapping[1].endsWith(".node");
  else if (inAddon && line.startsWith("Rss:")) addon += Number(/(\d+) kB/.exec(line)[1]) * 1024;
}
// V8's young generation grows (1 -> 2 -> 4 MiB semi-spaces) with what survives its scavenges,
// the old generation with what is kept: both are part of the peak, and both are ours to shrink.
const heap = Object.fromEntries(
  getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size]),
);
console.log(
  JSON.stringify({
    node,
    // Kept under its old name: RSS just before openFile (Node and the imported package).
    before: imported,
    imported,
    opened,
    peak: end.peak,
    anonAtEnd: end.anon,
    fileAtEnd: end.file,
    addonAtEnd: addon,
    newSpaceAtEnd: heap.new_space ?? 0,
    oldSpaceAtEnd: (heap.old_space ?? 0) + (heap.code_space ?? 0) + (heap.large_object_space ?? 0),
    arena: arena.byteLength,
    arenaKind: api.allocateArena ? "allocateArena" : "ArrayBuffer",
  }),
);
