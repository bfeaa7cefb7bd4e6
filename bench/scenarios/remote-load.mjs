// Remote loading (issue 16) over loopback from nginx, page cache warm, one large encrypted tensor
// (v2 AES-256-GCM, 2 MiB chunks; CRYPTOTENSORS_BENCH_REMOTE_MB, default 256):
//   - a 1% row slice over HTTP: requests and bytes fetched (must be the header plus exactly the
//     covering chunks) and time of open + slice, vs the same on the local file;
//   - a full load, loadFile(url) vs loadFile(path), interleaved rounds (rotated order) reporting
//     best / median / spread and page faults. Target: remote median <= 1.5 x local median. The
//     remote load's range bodies are received by the addon's threads (native/http-receive.h); a
//     third row runs the same load with that receiver off (the JS-thread client), to compare;
//   - in the same rounds, floors of that full load (bench/lib/http-floors.mjs): curl of the whole
//     file into /dev/null, and bare node:net range GETs over 2 connections whose bodies are read
//     straight into memory (fresh arena memory, as a load's destination; and memory reused from
//     the round before), no decryption, no checks. The transfer into fresh memory is work a full
//     remote load cannot avoid (a load fills a fresh destination; local loads fault theirs in
//     too), so its median / the local median bounds the ratio from below on this machine
//     (loopback transfer, nginx's CPU and ours share the cores); the decryption comes on top.
//     (A transfer and a local load run at once is no floor: they contend for the JS thread and
//     took 1.7x as long as our remote load, at load ~9.)
//   - the native floor, the bound of the target row: bench/lib/recv-floor.c (compiled with the
//     system `cc`) on CRYPTOTENSORS_BENCH_RECV_THREADS threads (default 4), one
//     keep-alive connection each, range GETs whose bodies recv() lands straight into one buffer,
//     fresh per transfer (and, as a second row, kept warm; a third: one thread into fresh memory,
//     as Node's JS thread receives alone); its CPU and faults are its own process's.
//     Plus curl of the whole file into a file in /dev/shm (fresh tmpfs pages).
//   - the AEAD alone over the file's bytes (the fast engine on the addon's threads, messages in
//     cache: binding.aeadInCache): a full remote load also decrypts every byte, on the same cores
//     as the receiving and nginx, so the bound's CPU form adds its CPU to the receiver's and nginx's.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Bench } from "tinybench";
import { benchKeys, fillPattern, gbps, loadPackage, report, tempDir } from "../lib/common.mjs";
import { aeadAlone } from "../lib/floors.mjs";
import { curlDiscard, curlInto, netInto, startNativeReceiver } from "../lib/http-floors.mjs";
import { startNginx } from "../lib/nginx.mjs";

const api = await loadPackage();
const dir = tempDir("remote");
const ROUNDS = Number(
  process.env.CRYPTOTENSORS_BENCH_ROUNDS ?? (process.env.CRYPTOTENSORS_BENCH_QUICK === "1" ? 3 : 5),
);
const MB = Number(
  process.env.CRYPTOTENSORS_BENCH_REMOTE_MB ??
    (process.env.CRYPTOTENSORS_BENCH_QUICK === "1" ? 64 : 256),
);
const ROWS = 4096;
const rowBytes = Math.floor((MB << 20) / ROWS);
const bytes = rowBytes * ROWS;
const keys = benchKeys(api);
const local = join(dir, "model.safetensors");
await api.saveFile(
  local,
  { w: { dtype: "U8", shape: [ROWS, rowBytes], data: fillPattern(new Uint8Array(bytes)) } },
  { encryption: keys.encryption },
);
const root = join(dir, "www");
mkdirSync(root);
copyFileSync(local, join(root, "model.safetensors"));
const nginx = await startNginx(root);
const url = `${nginx.origin}/model.safetensors`;
const opts = { keys: keys.set };
/**
 * CPU time nginx has used so far, in ms (clock ticks of 10 ms): its first process and, when it
 * runs workers (bench/lib/nginx.mjs), every process whose parent that is; NaN if unreadable.
 */
const nginxCpuMs = () => {
  try {
    let ticks = 0;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let fields;
      try {
        fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      } catch {
        continue; // the process ended meanwhile
      }
      if (Number(entry) === nginx.pid || Number(fields[1]) === nginx.pid)
        ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10;
  } catch {
    return Number.NaN;
  }
};

// 4: the fastest of 1, 2, 4 and 8 receiving threads on the 2-core benchmark machine.
const JS_RECEIVE = "full load, remote, JS-thread receive (CRYPTOTENSORS_NATIVE_HTTP=0)";
const nativeSwitch = process.env.CRYPTOTENSORS_NATIVE_HTTP;
const RECV_THREADS = Number(process.env.CRYPTOTENSORS_BENCH_RECV_THREADS ?? 4);
const shmFile = existsSync("/dev/shm") ? join("/dev/shm", `ct-bench-remote-${process.pid}`) : null;
// The curl floor's output lives in memory (tmpfs): removed on any exit, not only the finally below.
if (shmFile) process.on("exit", () => rmSync(shmFile, { force: true }));
/** @type {Awaited<ReturnType<typeof startNativeReceiver>> | undefined} */
let receiver;
/** @type {Awaited<ReturnType<typeof startNativeReceiver>> | undefined} */
let single;
try {
  // The 1% slice: rows [first, first + 41) of 4096, from the middle of the tensor.
  const first = 2000;
  const count = Math.ceil(ROWS / 100);
  const source = await api.openHttpSource(url);
  const file = await api.openFile(source, opts);
  const chunk = /** @type {number} */ (file.encryption()?.chunkSize);
  const afterOpen = { ...source.stats };
  const slice = await file.getSlice("w", [[first, first + count]]);
  const local1 = await api.openFile(local, opts);
  const same = Buffer.from(slice.data).equals(
    (await local1.getSlice("w", [[first, first + count]])).data,
  );
  await Promise.all([file.close(), local1.close()]);
  const start = first * rowBytes;
  const end = (first + count) * rowBytes;
  const coveringChunks = Math.floor((end - 1) / chunk) - Math.floor(start / chunk) + 1;
  const headerBytes = 8 + Number((await api.inspectFile(local)).fileSize - bytes);
  const sliceFacts = {
    sliceBytes: end - start,
    chunkSize: chunk,
    coveringChunks,
    coveringBytes: coveringChunks * chunk,
    headerBytes: headerBytes - 8,
    fetchedAtOpen: afterOpen,
    fetchedForSlice: {
      requests: source.stats.requests - afterOpen.requests,
      bytes: source.stats.bytes - afterOpen.bytes,
    },
    sameBytesAsLocal: same,
  };
  sliceFacts.exactlyCovering = sliceFacts.fetchedForSlice.bytes === coveringChunks * chunk;

  const sliceOf = async (target) => {
    const f = await api.openFile(target, opts);
    try {
      await f.getSlice("w", [[first, first + count]]);
    } finally {
      await f.close();
    }
  };
  const fileSize = Number((await api.inspectFile(local)).fileSize);
  const reused = new Uint8Array(api.binding.allocateArena(fileSize)).fill(1);
  receiver = await startNativeReceiver(url, fileSize, RECV_THREADS);
  // One receiving thread, as Node's JS thread is for our loads: what receiving in parallel gains.
  single = RECV_THREADS === 1 ? undefined : await startNativeReceiver(url, fileSize, 1);
  /** CPU ms and faults of the native receiver's process in the sample just run (added to ours). */
  let childUsage = { cpuMs: 0, minorFaults: 0 };
  const native = "transfer" in receiver ? receiver : null;
  const oneThread = single && "transfer" in single ? single : null;
  const nativeFloor = async (
    /** @type {{ transfer: (mode: "fresh" | "warm") => Promise<{ cpuMs: number, minorFaults: number }> }} */ by,
    /** @type {"fresh" | "warm"} */ mode,
  ) => {
    const { cpuMs, minorFaults } = await by.transfer(mode);
    childUsage = { cpuMs, minorFaults };
  };
  const nativeFresh = `floor: native recv() x${RECV_THREADS} threads into fresh memory`;
  const aead = aeadAlone(api, fileSize);
  const floors = {
    ...(native
      ? {
          [nativeFresh]: () => nativeFloor(native, "fresh"),
          [`floor: native recv() x${RECV_THREADS} threads into warm memory`]: () =>
            nativeFloor(native, "warm"),
        }
      : {}),
    ...(oneThread
      ? {
          "floor: native recv() x1 thread into fresh memory": () => nativeFloor(oneThread, "fresh"),
        }
      : {}),
    ...(shmFile ? { "floor: curl into a file in /dev/shm": () => curlInto(url, shmFile) } : {}),
    "floor: curl -o /dev/null, whole file": () => curlDiscard(url),
    [aead.name]: aead.run,
    "floor: node:net GET x2 into fresh memory": () =>
      netInto(url, new Uint8Array(api.binding.allocateArena(fileSize)), 2),
    "floor: node:net GET x2 into reused memory": () => netInto(url, reused, 2),
  };
  const variants = {
    "full load, remote (nginx, loopback)": () => api.loadFile(url, opts),
    "full load, local": () => api.loadFile(local, opts),
    // The same load with the addon's receiver off (read at open): the JS-thread wire client.
    [JS_RECEIVE]: async () => {
      process.env.CRYPTOTENSORS_NATIVE_HTTP = "0";
      try {
        return await api.loadFile(url, opts);
      } finally {
        if (nativeSwitch === undefined) delete process.env.CRYPTOTENSORS_NATIVE_HTTP;
        else process.env.CRYPTOTENSORS_NATIVE_HTTP = nativeSwitch;
      }
    },
    ...floors,
    "open + 1% slice, remote": () => sliceOf(url),
    "open + 1% slice, local": () => sliceOf(local),
  };
  const names = Object.keys(variants);
  for (const name of names) await variants[name](); // warm page cache, connections, JIT
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const bench = new Bench({ time: 0, iterations: 1, warmup: false, throws: true });
    for (const name of order) {
      let before;
      let nginxBefore = 0;
      bench.add(name, async () => void (await variants[name]()), {
        beforeEach: () => {
          globalThis.gc?.();
          nginxBefore = nginxCpuMs();
          childUsage = { cpuMs: 0, minorFaults: 0 };
          before = process.resourceUsage();
        },
        afterEach: () => {
          const after = process.resourceUsage();
          samples[name].push({
            minorFaults: after.minorPageFault - before.minorPageFault + childUsage.minorFaults,
            // All threads of this process (ours: JS thread, addon pool, libuv), and nginx's.
            cpuMs:
              (after.userCPUTime +
                after.systemCPUTime -
                before.userCPUTime -
                before.systemCPUTime) /
                1000 +
              childUsage.cpuMs,
            nginxCpuMs: nginxCpuMs() - nginxBefore,
          });
        },
      });
    }
    await bench.run();
    for (const task of bench.tasks) {
      const list = samples[task.name];
      list[list.length - 1].ms = task.result.latency.samples[0];
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const stats = Object.fromEntries(
    names.map((name) => {
      const ms = samples[name].map((s) => s.ms);
      const best = Math.min(...ms);
      const med = median(ms);
      return [
        name,
        {
          best,
          median: med,
          spread: (Math.max(...ms) - best) / med,
          minorFaults: median(samples[name].map((s) => s.minorFaults)),
          cpuMs: median(samples[name].map((s) => s.cpuMs)),
          nginxCpuMs: median(samples[name].map((s) => s.nginxCpuMs)),
        },
      ];
    }),
  );
  const rows = names.map((name) => ({
    what: name,
    "best ms": +stats[name].best.toFixed(1),
    "median ms": +stats[name].median.toFixed(1),
    spread: `${(100 * stats[name].spread).toFixed(0)}%`,
    "GB/s (best)":
      name.startsWith("full") || name.startsWith("floor") ? gbps(bytes, stats[name].best) : "",
    "minor faults": stats[name].minorFaults,
    "CPU ms (median)": +stats[name].cpuMs.toFixed(1),
    "nginx CPU ms (median)": stats[name].nginxCpuMs,
  }));
  const ratio = (a, b, key) => +(stats[a][key] / stats[b][key]).toFixed(3);
  const nodeFloor = "floor: node:net GET x2 into fresh memory";
  // The bound: the native receiver into fresh memory (the node:net floor when cc is missing).
  const lowest = native ? nativeFresh : nodeFloor;
  const remoteName = "full load, remote (nginx, loopback)";
  const bound = {
    name: lowest.replace("floor: ", ""),
    "floor / local, median": ratio(lowest, "full load, local", "median"),
    "floor / local, best": ratio(lowest, "full load, local", "best"),
    "remote / floor, median": ratio("full load, remote (nginx, loopback)", lowest, "median"),
    // The floor's own CPU bound: its receiver's CPU plus nginx's, over every core.
    "floor CPU (receiver + nginx) / cores / local median": +(
      (stats[lowest].cpuMs + stats[lowest].nginxCpuMs) /
      cpus().length /
      stats["full load, local"].median
    ).toFixed(3),
    // Receiving and decrypting every byte on these cores: the floor's CPU (receiver + nginx) plus
    // the AEAD alone's, over every core, / the local median.
    "floor + AEAD CPU / cores / local median": +(
      (stats[lowest].cpuMs + stats[lowest].nginxCpuMs + stats[aead.name].cpuMs) /
      cpus().length /
      stats["full load, local"].median
    ).toFixed(3),
    "node:net floor / local, median": ratio(nodeFloor, "full load, local", "median"),
    ...(oneThread
      ? {
          "one-thread floor / local, median": ratio(
            "floor: native recv() x1 thread into fresh memory",
            "full load, local",
            "median",
          ),
        }
      : {}),
    ...(native
      ? {}
      : { "native floor missing": /** @type {{ missing: string }} */ (receiver).missing }),
    // Wall time cannot be below the CPU time it takes spread over every core: our process's CPU
    // (all threads) plus nginx's, per full remote load, / cores, / the local median.
    "remote CPU (ours + nginx) / cores / local median": +(
      (stats[remoteName].cpuMs + stats[remoteName].nginxCpuMs) /
      cpus().length /
      stats["full load, local"].median
    ).toFixed(3),
  };
  const ratios = {
    "full load remote / local, median (target <= 1.5)": ratio(
      "full load, remote (nginx, loopback)",
      "full load, local",
      "median",
    ),
    "full load remote / local, best": ratio(
      "full load, remote (nginx, loopback)",
      "full load, local",
      "best",
    ),
    "full load remote, JS-thread receive / local, median": ratio(
      JS_RECEIVE,
      "full load, local",
      "median",
    ),
    "full load remote, native / JS-thread receive, median": ratio(
      "full load, remote (nginx, loopback)",
      JS_RECEIVE,
      "median",
    ),
    "open + slice remote / local, median": ratio(
      "open + 1% slice, remote",
      "open + 1% slice, local",
      "median",
    ),
  };
  report("remote-load", rows, { bytes, rounds: ROUNDS, slice: sliceFacts, stats, ratios, bound });
  console.table(sliceFacts.fetchedForSlice);
  console.log(sliceFacts);
  console.table(ratios);
  console.table(bound);
} finally {
  for (const started of [receiver, single]) if (started && "stop" in started) started.stop();
  if (shmFile) rmSync(shmFile, { force: true });
  await nginx.stop();
}
