// Same-run bounds of the performance targets (issue 13: "if a target is physically out of reach on
// this machine, show the measured floor that bounds it"). A job's lower bound is the largest of the
// floors of the work it cannot avoid, each measured in the same run with the best method the addon
// has: the landing of its bytes in memory (memcpy), the AEAD alone (in cache), and, for work that
// can only take turns on the cores (the cipher and the kernel zeroing fresh pages), their summed
// CPU time over the cores. A target whose ratio that bound already breaks is out of reach here.
// Pure functions, unit-tested in test/unit/bench-bounds.test.ts.

/**
 * The largest of several lower bounds of one job's time, in ms. `floors`: best wall times of work
 * the job must do (each alone); `cpu`: CPU times (ms, all threads) of work that cannot overlap on
 * one core, which `cores` cores need at least sum / cores for. Terms that are not finite numbers
 * (not measured) are left out; `ms` is NaN when none is left.
 * @example lowerBound({ floors: { memcpy: 80 }, cpu: { aead: 60, populate: 90 }, cores: 2 })
 *   // { ms: 80, by: "memcpy", terms: { memcpy: 80, "(aead + populate) CPU / 2 cores": 75 } }
 * @param {{ floors?: Record<string, number | null | undefined>, cpu?: Record<string, number | null | undefined>, cores: number }} parts
 * @returns {{ ms: number, by: string, terms: Record<string, number> }}
 */
export function lowerBound({ floors = {}, cpu = {}, cores }) {
  /** @type {Record<string, number>} */
  const terms = {};
  for (const [name, ms] of Object.entries(floors)) if (Number.isFinite(ms)) terms[name] = ms;
  const cpuTerms = Object.entries(cpu).filter(([, ms]) => Number.isFinite(ms));
  if (cpuTerms.length > 0 && cores >= 1) {
    const label = `(${cpuTerms.map(([name]) => name).join(" + ")}) CPU / ${cores} cores`;
    terms[label] = cpuTerms.reduce((sum, [, ms]) => sum + ms, 0) / cores;
  }
  let by = "none";
  let ms = Number.NaN;
  for (const [name, value] of Object.entries(terms))
    if (!(value <= ms)) {
      ms = value;
      by = name;
    }
  return { ms, by, terms };
}

/**
 * The verdict of a ratio target. `direction` "<=": the measured ratio must not exceed `target`;
 * ">=": it must reach it. `bound`: the best ratio the same-run floors allow (null or NaN when not
 * measured). "met"; "out of reach here (bound X)" when the bound itself breaks the target; else
 * "NOT met (bound X)" (reachable on this machine as far as the floors tell); "n/a" without a
 * measurement.
 * @example judge(1.3, "<=", 1.1, 1.25) // "out of reach here (bound 1.25)"
 * @param {number | null | undefined} measured
 * @param {"<=" | ">="} direction
 * @param {number} target
 * @param {number | null | undefined} [bound]
 */
export function judge(measured, direction, target, bound) {
  if (measured === null || measured === undefined || !Number.isFinite(measured)) return "n/a";
  const ok = (/** @type {number} */ x) => (direction === "<=" ? x <= target : x >= target);
  if (ok(measured)) return "met";
  if (bound === null || bound === undefined || !Number.isFinite(bound)) return "NOT met";
  // The measured ratio was reached, so a bound beyond it is a floor sample the host slowed down:
  // the measurement itself is then the best bound this run has.
  const b = direction === "<=" ? Math.min(bound, measured) : Math.max(bound, measured);
  return ok(b) ? `NOT met (bound ${fmt(b)})` : `out of reach here (bound ${fmt(b)})`;
}

/**
 * The verdict of a speed target (">=": faster is larger) whose samples are dominated by the host's
 * noise, as 1.2 GB writes to this VM's disk are. `control`: the same estimator over identical code
 * in the same run (an A/A pair), whose distance from 1 is how far this run's best samples wander
 * by chance; `median`: the median of the rounds' own ratios (each round's two samples side by
 * side). "met" when the measured ratio reaches the target; "inside this run's noise (...)" when it
 * misses by no more than the A/A pair wandered and the median of the rounds reaches the target;
 * else "NOT met" (with the figures that decided it).
 * @example judgeNoisy(0.9, 0.95, { control: 1.08, median: 0.97 })
 *   // "inside this run's noise (A/A 1.08, median of the rounds 0.97)"
 * @param {number | null | undefined} measured
 * @param {number} target
 * @param {{ control?: number | null, median?: number | null }} context
 */
export function judgeNoisy(measured, target, { control, median }) {
  if (measured === null || measured === undefined || !Number.isFinite(measured)) return "n/a";
  if (measured >= target) return "met";
  const figures = [
    Number.isFinite(control) ? `A/A ${fmt(/** @type {number} */ (control))}` : "no A/A control",
    Number.isFinite(median) ? `median of the rounds ${fmt(/** @type {number} */ (median))}` : null,
  ]
    .filter(Boolean)
    .join(", ");
  const noise = Number.isFinite(control) ? Math.abs(1 - /** @type {number} */ (control)) : 0;
  const inside =
    noise > 0 &&
    target - measured <= noise &&
    Number.isFinite(median) &&
    /** @type {number} */ (median) >= target;
  return inside ? `inside this run's noise (${figures})` : `NOT met (${figures})`;
}

/** A ratio with 3 significant decimals (what the tables show). */
export const fmt = (/** @type {number} */ x) => String(+x.toFixed(3));

/** a / b with 3 decimals, or null when either is missing. */
export function ratio(
  /** @type {number | null | undefined} */ a,
  /** @type {number | null | undefined} */ b,
) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return +(/** @type {number} */ (a / /** @type {number} */ (b)).toFixed(3));
}

/**
 * @typedef {{ best: number, cpuBest: number }} Timed
 * @typedef {{ memcpyFresh: string, aead: string, populate: string, sealFresh: string, memcpyWarm: string, sealWarm: string }} FloorNames
 */

/**
 * Lower bounds of an encrypted load from the same-run floors of bench/lib/floors.mjs (`stats` by
 * variant name, `names` its variant names), and the ratios they allow against the variants named
 * in `compare`. A load into fresh memory (`fresh`, e.g. a retained loadFile) must land the bytes in
 * fresh memory and run the AEAD, whose CPU and the kernel's page zeroing take turns on the cores;
 * readAll into a warm arena (`warm`) must land them and run the AEAD. Landing costs at least the
 * faster of the memcpy floor and the plaintext load itself (which lands the same bytes: a floor
 * slower than it is no floor). The AEAD is not added to the landing: the cores run it while they
 * wait for memory (`reachable`: seal streaming, the AEAD fused into a landing pass, costs little
 * more than the memcpy alone).
 *
 * Each bound comes in two forms: from CPU time (all threads, best sample) over `cores`, which a
 * busy machine hardly inflates (the verdicts use it), and from best wall times (`wall`), the
 * tighter one on a quiet machine.
 * @example loadBounds(stats, names, { cores: 2, plainFresh: "loadFile plaintext (retained)" })
 * @param {Record<string, Timed | undefined>} stats
 * @param {FloorNames} names
 * @param {{ cores: number, plainFresh?: string, plainWarm?: string, reference?: string }} compare
 */
export function loadBounds(stats, names, { cores, plainFresh, plainWarm, reference }) {
  const best = (/** @type {string | undefined} */ name) => (name ? stats[name]?.best : undefined);
  const cpu = (/** @type {string | undefined} */ name) => (name ? stats[name]?.cpuBest : undefined);
  const ms = (/** @type {number} */ x) => (Number.isFinite(x) ? +x.toFixed(1) : null);
  const shown = (/** @type {ReturnType<typeof lowerBound>} */ bound) => ({
    ms: ms(bound.ms),
    by: bound.by,
    terms: Object.fromEntries(Object.entries(bound.terms).map(([k, v]) => [k, ms(v)])),
  });
  const fresh = lowerBound({
    floors: {
      [`landing: min(memcpy, plaintext load) CPU / ${cores} cores`]:
        minOf(cpu(names.memcpyFresh), cpu(plainFresh)) / cores,
    },
    cpu: { AEAD: cpu(names.aead), "page zeroing": cpu(names.populate) },
    cores,
  });
  const freshWall = lowerBound({
    floors: {
      "landing: min(memcpy, plaintext load)": minOf(best(names.memcpyFresh), best(plainFresh)),
      [names.aead]: best(names.aead),
      [names.populate]: best(names.populate),
    },
    cores,
  });
  const warm = lowerBound({
    floors: {
      [`landing: min(memcpy, plaintext readAll) CPU / ${cores} cores`]:
        minOf(cpu(names.memcpyWarm), cpu(plainWarm)) / cores,
    },
    cpu: { AEAD: cpu(names.aead) },
    cores,
  });
  const warmWall = lowerBound({
    floors: {
      "landing: min(memcpy, plaintext readAll)": minOf(best(names.memcpyWarm), best(plainWarm)),
      [names.aead]: best(names.aead),
    },
    cores,
  });
  return {
    fresh: {
      ...shown(fresh),
      "encrypted / plaintext": ratio(fresh.ms, best(plainFresh)),
      "reference / encrypted": ratio(best(reference), fresh.ms),
      wall: {
        ...shown(freshWall),
        "encrypted / plaintext": ratio(freshWall.ms, best(plainFresh)),
        "reference / encrypted": ratio(best(reference), freshWall.ms),
      },
    },
    warm: {
      ...shown(warm),
      "encrypted / plaintext": ratio(warm.ms, best(plainWarm)),
      wall: { ...shown(warmWall), "encrypted / plaintext": ratio(warmWall.ms, best(plainWarm)) },
    },
    reachable: {
      "seal streaming / memcpy, fresh arena": ratio(best(names.sealFresh), best(names.memcpyFresh)),
      "seal streaming / memcpy, warm arena": ratio(best(names.sealWarm), best(names.memcpyWarm)),
    },
    // Not a bound of every design: the loader lands each piece of ciphertext (a copy) and only
    // then runs the AEAD over it in cache, so the AEAD cannot hide under the copy's memory stalls
    // and comes on top of the landing: landing floor + AEAD CPU / cores.
    landThenDecrypt: {
      fresh: serial(minOf(best(names.memcpyFresh), best(plainFresh)), plainFresh),
      warm: serial(minOf(best(names.memcpyWarm), best(plainWarm)), plainWarm),
    },
  };

  function serial(/** @type {number} */ landing, /** @type {string | undefined} */ plain) {
    const total = landing + (cpu(names.aead) ?? Number.NaN) / cores;
    return { ms: ms(total), "encrypted / plaintext": ratio(total, best(plain)) };
  }
}

/** The smallest of the finite numbers given, NaN when there is none. */
function minOf(/** @type {Array<number | null | undefined>} */ ...xs) {
  const finite = /** @type {number[]} */ (xs.filter((x) => Number.isFinite(x)));
  return finite.length > 0 ? Math.min(...finite) : Number.NaN;
}

/**
 * @typedef {{ preadFresh: string, mappedFresh: string, preadWarm: string, mappedWarm: string, aead: string, sealFresh?: string, memcpyFresh?: string, sealWarm?: string, memcpyWarm?: string }} DesignNames
 */

/**
 * The bounds of the two designs that keep the single fetch (each ciphertext byte read from the
 * file once, so that another process writing the file cannot make a tag verify over other bytes)
 * and the resident set bounded (the file not mapped whole), from the same-run file-landing floors
 * (bench/lib/floors.mjs fileFloorVariants) and the AEAD floor:
 * - land, then decrypt: the pread landing floor plus the AEAD's CPU over the cores (the kernel's
 *   copy and the cipher take turns on the cores); the smaller of its wall form (landing best +
 *   AEAD CPU / cores) and its CPU form ((landing + AEAD) CPU / cores);
 * - stream out of the mapping: the AEAD fused into the copy out of a mapping of the file: the
 *   mapped landing floor plus what fusing the AEAD into a landing pass costs in this run, measured
 *   by the best fused kernel the addon has (`sealFresh`/`sealWarm`, AES-GCM sealing streamed into
 *   fresh/warm memory, against `memcpyFresh`/`memcpyWarm`, the same pass without the cipher):
 *   wall, the mapped floor times seal / memcpy (at least 1); CPU, the mapped floor's CPU plus
 *   seal's CPU beyond memcpy's, over the cores; the smaller. The cipher's instructions hide under
 *   a landing's memory stalls only as far as that kernel shows; without those floors the AEAD is
 *   taken as hidden entirely (generous), and that form is always reported too.
 * `best` is the smaller of the two; a target that it breaks is out of reach for both designs here.
 * The ratios are to the plaintext loads named in `compare` (and the reference's load over it).
 * Each bound also carries the plaintext load's own time beyond its landing floor (its best minus
 * the pread floor's best: opening, parsing the header, the arena, the views, GC): an encrypted
 * load does all of that as well, so comparing an encrypted bound without it to a plaintext load
 * with it would credit the encrypted load with work it cannot skip.
 * @example designBounds(stats, names, { cores: 2, plainFresh: "loadFile plaintext (retained)" })
 * @param {Record<string, Timed | undefined>} stats
 * @param {DesignNames} names
 * @param {{ cores: number, plainFresh?: string, plainWarm?: string, reference?: string }} compare
 */
export function designBounds(stats, names, { cores, plainFresh, plainWarm, reference }) {
  const best = (/** @type {string | undefined} */ name) => (name ? stats[name]?.best : undefined);
  const cpu = (/** @type {string | undefined} */ name) => (name ? stats[name]?.cpuBest : undefined);
  const aead = (cpu(names.aead) ?? Number.NaN) / cores;
  const ms = (/** @type {number} */ x) => (Number.isFinite(x) ? +x.toFixed(1) : null);
  const one = (
    /** @type {string} */ pread,
    /** @type {string} */ mapped,
    /** @type {{ seal?: string, memcpy?: string }} */ fusion,
    /** @type {string | undefined} */ plain,
    /** @type {string | undefined} */ ref,
  ) => {
    const landThenDecrypt = minOf(
      (best(pread) ?? Number.NaN) + aead,
      ((cpu(pread) ?? Number.NaN) + (cpu(names.aead) ?? Number.NaN)) / cores,
    );
    const hidden = minOf(best(mapped), (cpu(mapped) ?? Number.NaN) / cores);
    // What fusing the AEAD into a landing pass costs, as the fused kernel measures it here.
    const factor = Math.max(
      1,
      (best(fusion.seal) ?? Number.NaN) / (best(fusion.memcpy) ?? Number.NaN),
    );
    const extraCpu = Math.max(
      0,
      (cpu(fusion.seal) ?? Number.NaN) - (cpu(fusion.memcpy) ?? Number.NaN),
    );
    const fused = minOf(
      (best(mapped) ?? Number.NaN) * factor,
      ((cpu(mapped) ?? Number.NaN) + extraCpu) / cores,
    );
    const streamed = Number.isFinite(fused) ? fused : hidden;
    const beyond = Math.max(0, (best(plain) ?? Number.NaN) - (best(pread) ?? Number.NaN));
    const shared = Number.isFinite(beyond) ? beyond : 0;
    const bound = minOf(landThenDecrypt, streamed) + shared;
    return {
      "land then decrypt ms": ms(landThenDecrypt),
      "stream from the mapping ms": ms(streamed),
      "stream from the mapping, AEAD hidden entirely ms": ms(hidden),
      "fused AEAD measured": Number.isFinite(fused),
      "plaintext load beyond its landing floor ms": ms(shared),
      ms: ms(bound),
      by: landThenDecrypt <= streamed ? "land then decrypt" : "stream from the mapping",
      "encrypted / plaintext": ratio(bound, best(plain)),
      "land then decrypt / plaintext": ratio(landThenDecrypt + shared, best(plain)),
      "stream from the mapping / plaintext": ratio(streamed + shared, best(plain)),
      ...(ref ? { "reference / encrypted": ratio(best(ref), bound) } : {}),
    };
  };
  return {
    fresh: one(
      names.preadFresh,
      names.mappedFresh,
      { seal: names.sealFresh, memcpy: names.memcpyFresh },
      plainFresh,
      reference,
    ),
    warm: one(
      names.preadWarm,
      names.mappedWarm,
      { seal: names.sealWarm, memcpy: names.memcpyWarm },
      plainWarm,
      undefined,
    ),
  };
}
