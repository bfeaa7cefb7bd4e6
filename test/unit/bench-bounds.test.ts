// The pure functions behind the benchmark's "out of reach here" verdicts (bench/lib/bounds.mjs).
import { describe, expect, it } from "vitest";
import {
  designBounds,
  fmt,
  judge,
  judgeNoisy,
  loadBounds,
  lowerBound,
  ratio,
} from "../../bench/lib/bounds.mjs";

describe("lowerBound", () => {
  it("takes the largest floor, or the summed CPU over the cores when that is larger", () => {
    expect(
      lowerBound({ floors: { memcpy: 80, aead: 30 }, cpu: { aead: 60, populate: 90 }, cores: 2 }),
    ).toEqual({
      ms: 80,
      by: "memcpy",
      terms: { memcpy: 80, aead: 30, "(aead + populate) CPU / 2 cores": 75 },
    });
    const cpuBound = lowerBound({
      floors: { memcpy: 70 },
      cpu: { aead: 60, populate: 90 },
      cores: 2,
    });
    expect(cpuBound.ms).toBe(75);
    expect(cpuBound.by).toBe("(aead + populate) CPU / 2 cores");
    expect(lowerBound({ cpu: { aead: 60 }, cores: 4 }).ms).toBe(15);
  });

  it("leaves out terms that were not measured", () => {
    const bound = lowerBound({
      floors: { memcpy: null, aead: Number.NaN, fill: 12 },
      cpu: { aead: undefined, populate: 40 },
      cores: 2,
    });
    expect(bound).toEqual({
      ms: 20,
      by: "(populate) CPU / 2 cores",
      terms: { fill: 12, "(populate) CPU / 2 cores": 20 },
    });
    expect(lowerBound({ floors: { memcpy: null }, cores: 2 })).toEqual({
      ms: Number.NaN,
      by: "none",
      terms: {},
    });
  });
});

describe("judge", () => {
  it("says met whatever the bound", () => {
    expect(judge(1.05, "<=", 1.1, 1.2)).toBe("met");
    expect(judge(1.1, "<=", 1.1, null)).toBe("met");
    expect(judge(2.5, ">=", 2, 1.5)).toBe("met");
  });

  it("says out of reach when the same-run bound breaks the target", () => {
    expect(judge(1.4, "<=", 1.05, 1.2)).toBe("out of reach here (bound 1.2)");
    expect(judge(1.5, ">=", 2, 1.8765)).toBe("out of reach here (bound 1.877)");
  });

  it("says NOT met with the bound when the floors allow the target", () => {
    expect(judge(1.3, "<=", 1.1, 0.66)).toBe("NOT met (bound 0.66)");
    expect(judge(1.5, ">=", 2, 3.1)).toBe("NOT met (bound 3.1)");
    expect(judge(1.5, ">=", 2, 2)).toBe("NOT met (bound 2)");
  });

  it("never shows a bound beyond what was measured (a floor sample the host slowed down)", () => {
    expect(judge(1.96, "<=", 1.15, 2.17)).toBe("out of reach here (bound 1.96)");
    expect(judge(1.5, ">=", 2, 1.2)).toBe("out of reach here (bound 1.5)");
  });

  it("without a bound or a measurement", () => {
    expect(judge(1.3, "<=", 1.1)).toBe("NOT met");
    expect(judge(1.3, "<=", 1.1, Number.NaN)).toBe("NOT met");
    expect(judge(null, "<=", 1.1, 0.5)).toBe("n/a");
    expect(judge(Number.NaN, ">=", 2, 3)).toBe("n/a");
  });
});

describe("ratio and fmt", () => {
  it("divides with 3 decimals, null when a side is missing", () => {
    expect(ratio(168.4, 129.8)).toBe(1.297);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(2, undefined)).toBeNull();
    expect(fmt(1.23456)).toBe("1.235");
    expect(fmt(2)).toBe("2");
  });
});

describe("loadBounds", () => {
  const names = {
    memcpyFresh: "memcpy fresh",
    aead: "aead",
    populate: "populate",
    sealFresh: "seal fresh",
    memcpyWarm: "memcpy warm",
    sealWarm: "seal warm",
  };
  const t = (best: number, cpuBest = Number.NaN) => ({ best, cpuBest });
  const stats = {
    "memcpy fresh": t(86, 150),
    aead: t(40, 54),
    populate: t(78, 160),
    "seal fresh": t(90),
    "memcpy warm": t(62, 118),
    "seal warm": t(64),
    plain: t(130, 200),
    "plain warm": t(78, 120),
    reference: t(265),
  };
  const compare = {
    cores: 2,
    plainFresh: "plain",
    plainWarm: "plain warm",
    reference: "reference",
  };

  it("bounds the fresh load by CPU over the cores: max(landing, AEAD + page zeroing)", () => {
    const b = loadBounds(stats, names, compare);
    // max(min(150, 200) / 2, (54 + 160) / 2) = 107
    expect(b.fresh.ms).toBe(107);
    expect(b.fresh.by).toBe("(AEAD + page zeroing) CPU / 2 cores");
    expect(b.fresh.terms).toEqual({
      "landing: min(memcpy, plaintext load) CPU / 2 cores": 75,
      "(AEAD + page zeroing) CPU / 2 cores": 107,
    });
    expect(b.fresh["encrypted / plaintext"]).toBe(0.823);
    expect(b.fresh["reference / encrypted"]).toBe(2.477);
    // wall: max(min(86, 130), 40, 78)
    expect(b.fresh.wall.ms).toBe(86);
    expect(b.fresh.wall.by).toBe("landing: min(memcpy, plaintext load)");
    expect(b.fresh.wall["encrypted / plaintext"]).toBe(0.662);
    expect(b.fresh.wall["reference / encrypted"]).toBe(3.081);
    // warm: max(min(118, 120) / 2, 54 / 2) = 59; wall max(min(62, 78), 40)
    expect(b.warm.ms).toBe(59);
    expect(b.warm["encrypted / plaintext"]).toBe(0.756);
    expect(b.warm.wall.ms).toBe(62);
    expect(b.warm.wall["encrypted / plaintext"]).toBe(0.795);
    expect(b.reachable["seal streaming / memcpy, fresh arena"]).toBe(1.047);
    expect(b.reachable["seal streaming / memcpy, warm arena"]).toBe(1.032);
    // landing, then the AEAD on top: 86 + 54 / 2 = 113; 62 + 27 = 89
    expect(b.landThenDecrypt.fresh).toEqual({ ms: 113, "encrypted / plaintext": 0.869 });
    expect(b.landThenDecrypt.warm).toEqual({ ms: 89, "encrypted / plaintext": 1.141 });
  });

  it("a memcpy floor slower than the plaintext load itself counts as the plaintext load", () => {
    const slowCopy = { ...stats, "memcpy fresh": t(400, 500), "memcpy warm": t(300, 400) };
    const b = loadBounds(slowCopy, names, compare);
    expect(b.fresh.terms["landing: min(memcpy, plaintext load) CPU / 2 cores"]).toBe(100);
    expect(b.fresh.wall.ms).toBe(130);
    expect(b.fresh.wall["encrypted / plaintext"]).toBe(1);
    expect(b.warm.ms).toBe(60);
    expect(b.warm.wall["encrypted / plaintext"]).toBe(1);
  });

  it("the AEAD alone can bound the load above its plaintext twin", () => {
    const slowCipher = { ...stats, aead: t(300, 560) };
    const b = loadBounds(slowCipher, names, compare);
    expect(b.fresh.ms).toBe(360); // (560 + 160) / 2
    expect(b.fresh["encrypted / plaintext"]).toBe(2.769);
    expect(b.warm.ms).toBe(280);
    expect(b.warm.wall.by).toBe("aead");
  });

  it("leaves out what was not measured (no reference, no warm floors, no CPU)", () => {
    const b = loadBounds({ "memcpy fresh": t(86), aead: t(120), plain: t(100) }, names, {
      cores: 2,
      plainFresh: "plain",
    });
    expect(b.fresh.ms).toBeNull();
    expect(b.fresh["encrypted / plaintext"]).toBeNull();
    expect(b.fresh.wall.ms).toBe(120);
    expect(b.fresh.wall.by).toBe("aead");
    expect(b.fresh.wall["encrypted / plaintext"]).toBe(1.2);
    expect(b.fresh.wall["reference / encrypted"]).toBeNull();
    expect(b.warm.wall.ms).toBe(120);
    expect(b.warm.wall["encrypted / plaintext"]).toBeNull();
    expect(b.reachable["seal streaming / memcpy, fresh arena"]).toBeNull();
    expect(b.landThenDecrypt.fresh).toEqual({ ms: null, "encrypted / plaintext": null });
  });
});

describe("designBounds", () => {
  const names = {
    preadFresh: "pread fresh",
    mappedFresh: "mapped fresh",
    preadWarm: "pread warm",
    mappedWarm: "mapped warm",
    aead: "aead",
  };
  const t = (best: number, cpuBest = Number.NaN) => ({ best, cpuBest });
  const stats = {
    "pread fresh": t(90, 170),
    "mapped fresh": t(118, 250),
    "pread warm": t(60, 118),
    "mapped warm": t(75, 140),
    aead: t(30, 56),
    plain: t(100, 180),
    "plain warm": t(62, 120),
    reference: t(170),
  };
  const compare = {
    cores: 2,
    plainFresh: "plain",
    plainWarm: "plain warm",
    reference: "reference",
  };

  it("takes the better of landing then decrypting and streaming out of the mapping", () => {
    const b = designBounds(stats, names, compare);
    // land then decrypt: min(90 + 56 / 2, (170 + 56) / 2) = 113; stream: min(118, 250 / 2) = 118;
    // plus the plaintext load's 100 - 90 = 10 ms beyond its landing floor
    expect(b.fresh["land then decrypt ms"]).toBe(113);
    expect(b.fresh["stream from the mapping ms"]).toBe(118);
    expect(b.fresh["plaintext load beyond its landing floor ms"]).toBe(10);
    expect(b.fresh.ms).toBe(123);
    expect(b.fresh.by).toBe("land then decrypt");
    expect(b.fresh["encrypted / plaintext"]).toBe(1.23);
    expect(b.fresh["land then decrypt / plaintext"]).toBe(1.23);
    expect(b.fresh["stream from the mapping / plaintext"]).toBe(1.28);
    expect(b.fresh["reference / encrypted"]).toBe(1.382);
    // a 1.10 target is out of reach for both designs; warm: min(60 + 28, 174 / 2) = 87 vs 70,
    // plus 62 - 60 = 2
    expect(judge(1.3, "<=", 1.1, b.fresh["encrypted / plaintext"])).toBe(
      "out of reach here (bound 1.23)",
    );
    expect(b.warm["land then decrypt ms"]).toBe(87);
    expect(b.warm["stream from the mapping ms"]).toBe(70);
    expect(b.warm.ms).toBe(72);
    expect(b.warm.by).toBe("stream from the mapping");
    expect(b.warm["encrypted / plaintext"]).toBe(1.161);
    expect(b.warm["reference / encrypted"]).toBeUndefined();
  });

  it("a design a fast enough copy makes reachable is judged NOT met, not out of reach", () => {
    const b = designBounds({ ...stats, "mapped fresh": t(85, 260) }, names, compare);
    expect(b.fresh.ms).toBe(95);
    expect(judge(1.3, "<=", 1.1, b.fresh["encrypted / plaintext"])).toBe("NOT met (bound 0.95)");
  });

  it("never credits a plaintext load faster than its landing floor", () => {
    const b = designBounds({ ...stats, plain: t(80, 150) }, names, compare);
    expect(b.fresh["plaintext load beyond its landing floor ms"]).toBe(0);
    expect(b.fresh.ms).toBe(113);
    expect(b.fresh["encrypted / plaintext"]).toBe(1.413);
  });

  it("adds the fused AEAD's measured cost to streaming out of the mapping", () => {
    const fusion = {
      ...names,
      sealFresh: "seal fresh",
      memcpyFresh: "memcpy fresh",
      sealWarm: "seal warm",
      memcpyWarm: "memcpy warm",
    };
    const measured = {
      ...stats,
      "mapped fresh": t(85, 160),
      "seal fresh": t(104, 190),
      "memcpy fresh": t(92, 158),
      "seal warm": t(68, 131),
      "memcpy warm": t(72, 114),
    };
    const b = designBounds(measured, fusion, compare);
    // wall 85 * 104 / 92 = 96.09; CPU (160 + 190 - 158) / 2 = 96; hidden entirely min(85, 80) = 80
    expect(b.fresh["stream from the mapping ms"]).toBe(96);
    expect(b.fresh["stream from the mapping, AEAD hidden entirely ms"]).toBe(80);
    expect(b.fresh["fused AEAD measured"]).toBe(true);
    expect(b.fresh.ms).toBe(106);
    expect(b.fresh.by).toBe("stream from the mapping");
    // the same floors without the fused kernel's figures would have called 1.10 reachable
    const generous = designBounds(measured, names, compare);
    expect(generous.fresh.ms).toBe(90);
    expect(generous.fresh["fused AEAD measured"]).toBe(false);
    expect(judge(1.3, "<=", 1.1, generous.fresh["encrypted / plaintext"])).toBe(
      "NOT met (bound 0.9)",
    );
    expect(judge(1.3, "<=", 1.1, b.fresh["encrypted / plaintext"])).toBe("NOT met (bound 1.06)");
    // a fused pass faster than the copy is not credited below the mapped floor (factor 1: 75);
    // CPU (140 + 131 - 114) / 2 = 78.5; the smaller
    expect(b.warm["stream from the mapping ms"]).toBe(75);
  });

  it("uses the wall forms alone without CPU times, and null without the floors", () => {
    const noCpu = Object.fromEntries(
      Object.entries(stats).map(([k, v]) => [k, { best: v.best, cpuBest: Number.NaN }]),
    );
    const b = designBounds(noCpu, names, compare);
    expect(b.fresh["land then decrypt ms"]).toBeNull(); // the AEAD's CPU is part of it
    expect(b.fresh["stream from the mapping ms"]).toBe(118);
    expect(b.fresh.ms).toBe(128);
    const none = designBounds({ plain: t(100) }, names, compare);
    expect(none.fresh.ms).toBeNull();
    expect(none.fresh["encrypted / plaintext"]).toBeNull();
  });
});

describe("judgeNoisy", () => {
  it("says met when the best-sample ratio reaches the target, whatever the noise", () => {
    expect(judgeNoisy(0.95, 0.95, { control: 1.3, median: 0.5 })).toBe("met");
    expect(judgeNoisy(1.2, 0.95, {})).toBe("met");
  });

  it("says inside the noise when the miss is no larger than the A/A pair's and the median reaches it", () => {
    expect(judgeNoisy(0.88, 0.95, { control: 1.07, median: 0.957 })).toBe(
      "inside this run's noise (A/A 1.07, median of the rounds 0.957)",
    );
    expect(judgeNoisy(0.9, 0.95, { control: 0.95, median: 0.96 })).toBe(
      "inside this run's noise (A/A 0.95, median of the rounds 0.96)",
    );
  });

  it("says NOT met when the miss is larger than the A/A pair's, or the median misses too", () => {
    expect(judgeNoisy(0.88, 0.95, { control: 1.02, median: 0.99 })).toBe(
      "NOT met (A/A 1.02, median of the rounds 0.99)",
    );
    expect(judgeNoisy(0.9, 0.95, { control: 1.2, median: 0.94 })).toBe(
      "NOT met (A/A 1.2, median of the rounds 0.94)",
    );
    expect(judgeNoisy(0.9, 0.95, { control: 1, median: 0.99 })).toBe(
      "NOT met (A/A 1, median of the rounds 0.99)",
    );
  });

  it("without a control or a measurement", () => {
    expect(judgeNoisy(0.9, 0.95, { median: 0.99 })).toBe(
      "NOT met (no A/A control, median of the rounds 0.99)",
    );
    expect(judgeNoisy(0.9, 0.95, { control: null, median: null })).toBe("NOT met (no A/A control)");
    expect(judgeNoisy(null, 0.95, { control: 1.1, median: 1 })).toBe("n/a");
  });
});
