// Interleaved comparisons for a noisy shared machine: every round runs each variant once, in an
// order rotated by one each round and reversed every other round (A,B,C / A,C,B / C,A,B / ...),
// so that a slow phase of the host (other tenants, reclaim of freed guest memory making
// first-touch faults slower for a while) hits every variant alike and no variant always follows
// the same one. Each sample records its time, the process's CPU time (all threads, user + system:
// steadier than wall time on a busy machine) and its minor/major page faults.
import { Bench } from "tinybench";

/**
 * @typedef {{ ms: number, cpuMs: number, minorFaults: number, majorFaults: number, extra?: Record<string, number> }} Sample
 * @typedef {{ best: number, median: number, spread: number, worst: number, cpuBest: number, cpuMedian: number, minorFaults: number, majorFaults: number, samples: number[] }} Stats
 */

/**
 * Runs `rounds` rounds of every variant. A variant is a function, or `{ setup, run }` whose
 * `setup` runs untimed before each sample (e.g. removing the previous output). `run` returns
 * nothing, or an object whose numeric fields `ms`, `minorFaults`, `majorFaults` (and `cpuMs`, else
 * NaN) replace what was measured here (a variant timed in another process, e.g. the reference
 * package, reports its own).
 * @param {Record<string, (() => Promise<unknown>) | { setup: () => unknown, run: () => Promise<unknown> }>} variants
 * @param {{ rounds: number, gc?: boolean }} options
 * @returns {Promise<Record<string, Stats>>}
 */
export async function interleaved(variants, { rounds, gc = true }) {
  const names = Object.keys(variants);
  /** @type {Record<string, Sample[]>} */
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // Odd rounds run the rotation backwards: in a plain rotation every variant always follows the
    // same one, and a variant that leaves the machine in a state (a GB of dirty page cache, freed
    // memory the host reclaims) would always bias the same neighbour.
    const rotated = names.map((_, i) => names[(i + round) % names.length]);
    const order = round % 2 === 1 ? rotated.reverse() : rotated;
    for (const name of order) {
      const variant = variants[name];
      const run = typeof variant === "function" ? variant : variant.run;
      if (typeof variant !== "function") await variant.setup();
      if (gc) globalThis.gc?.();
      const bench = new Bench({ time: 0, iterations: 1, warmup: false, throws: true });
      let before = process.resourceUsage();
      let cpuBefore = process.cpuUsage();
      /** @type {any} */
      let reported;
      bench.add(
        name,
        async () => {
          reported = await run();
        },
        {
          beforeEach: () => {
            before = process.resourceUsage();
            cpuBefore = process.cpuUsage();
          },
        },
      );
      await bench.run();
      const cpu = process.cpuUsage(cpuBefore);
      const after = process.resourceUsage();
      const ms = bench.tasks[0]?.result?.latency.samples[0] ?? Number.NaN;
      const own = reported && typeof reported === "object" && "ms" in reported ? reported : null;
      samples[name].push({
        ms: own ? own.ms : ms,
        cpuMs: own ? (own.cpuMs ?? Number.NaN) : (cpu.user + cpu.system) / 1000,
        minorFaults: own ? own.minorFaults : after.minorPageFault - before.minorPageFault,
        majorFaults: own ? (own.majorFaults ?? 0) : after.majorPageFault - before.majorPageFault,
      });
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(samples[name])]));
}

/** Best, median, worst and spread ((worst - best) / median) of the times; best and median CPU; median faults. */
export function summarise(/** @type {Sample[]} */ list) {
  const median = (/** @type {number[]} */ xs) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const ms = list.map((s) => s.ms);
  const best = Math.min(...ms);
  const worst = Math.max(...ms);
  const med = median(ms);
  const cpu = list.map((s) => s.cpuMs);
  return {
    best,
    median: med,
    worst,
    spread: (worst - best) / med,
    cpuBest: Math.min(...cpu),
    cpuMedian: median(cpu),
    minorFaults: median(list.map((s) => s.minorFaults)),
    majorFaults: median(list.map((s) => s.majorFaults)),
    samples: ms.map((x) => +x.toFixed(1)),
  };
}

/**
 * One table row per variant: best, median, spread, GB/s of the best sample, faults; with `cpu`,
 * also the best CPU time (all threads; blank for a variant timed in another process).
 */
export function statsRows(
  /** @type {Record<string, Stats>} */ stats,
  /** @type {number} */ bytes,
  { cpu = false } = {},
) {
  return Object.entries(stats).map(([what, s]) => ({
    what,
    "best ms": +s.best.toFixed(1),
    "median ms": +s.median.toFixed(1),
    spread: `${(100 * s.spread).toFixed(0)}%`,
    ...(cpu ? { "best CPU ms": Number.isFinite(s.cpuBest) ? +s.cpuBest.toFixed(1) : "" } : {}),
    "GB/s (best)": +(bytes / (s.best / 1000) / 1e9).toFixed(2),
    "minor faults": s.minorFaults,
  }));
}

/** best(a) / best(b), 3 decimals. */
export const bestRatio = (
  /** @type {Record<string, Stats>} */ stats,
  /** @type {string} */ a,
  /** @type {string} */ b,
) => +((stats[a]?.best ?? Number.NaN) / (stats[b]?.best ?? Number.NaN)).toFixed(3);
