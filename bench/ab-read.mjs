// A/B of the native read path between two builds of the package (e.g. main and an older commit
// in another worktree): the same encrypted files are read by each build in its own fresh process,
// alternating A, B, A, B, so that whatever else the machine does falls on both alike. Reports,
// per case, each side's best and median GB/s, their spread, and the B/A ratios.
//
//   node bench/ab-read.mjs /work/wt/old20/dist dist            # A = old, B = this tree
//   CRYPTOTENSORS_AB_ROUNDS=5 CRYPTOTENSORS_AB_MIB=256 CRYPTOTENSORS_AB_CASES=v2-aes256gcm ...
//   CRYPTOTENSORS_AB_CPU=1: bytes per CPU-second of the reading process (all its threads) instead
//   of per wall-clock second, for a machine others are using.
//
// Cases: {v1,v2} x {aes256gcm,aes128gcm,chacha20poly1305} x AES engines, each read into a warm
// caller buffer (`into`), a warm addon arena (`into: allocateArena(...)`; a build without arenas
// reports its plain `into` figure there) and a fresh one (no `into`).
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fillPattern, tempDir } from "./lib/common.mjs";

const SELF = fileURLToPath(import.meta.url);

async function loadDist(dist) {
  const api = await import(resolve(dist, "index.js"));
  const native = await import(resolve(dist, "native", "index.js"));
  return { ...api, ...native };
}

/**
 * Child: one build, one file, one engine; prints {warm, arena, fresh} best and median GB/s.
 * @param {string[]} args DIST FILE KEYS_JSON ENGINE MIB
 */
async function child(args) {
  const [dist = "", file = "", keysJson = "", engine = "", mib = ""] = args;
  const api = await loadDist(dist);
  api.setAesEngine(engine);
  const bytes = Number(mib) << 20;
  const f = await api.openFile(file, { keys: JSON.parse(keysJson) });
  const time = async (fn, n) => {
    await fn();
    const samples = [];
    const cpu = [];
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await fn();
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    samples.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const gb = (ms) => bytes / (ms / 1000) / 1e9;
    // CPU time (all threads): on a busy machine, time spent descheduled does not count.
    return {
      best: gb(samples[0]),
      median: gb(samples[Math.floor(samples.length / 2)]),
      cpuBest: gb(cpu[0]),
      cpuMedian: gb(cpu[Math.floor(cpu.length / 2)]),
    };
  };
  const warmBuf = new Uint8Array(bytes).fill(1);
  const warm = await time(() => f.getTensor("w", { into: warmBuf }), 8);
  // An addon arena (builds that have them): the addon's threads write it directly.
  const arenaBuf = api.allocateArena ? new Uint8Array(api.allocateArena(bytes)).fill(1) : null;
  const arena = arenaBuf ? await time(() => f.getTensor("w", { into: arenaBuf }), 8) : warm;
  const fresh = await time(() => f.getTensor("w"), 4);
  await f.close();
  process.stdout.write(JSON.stringify({ warm, arena, fresh }));
}

async function parent(dists) {
  if (dists.length < 2) {
    console.error("usage: node bench/ab-read.mjs DIST_A DIST_B [DIST_C ...]");
    process.exit(2);
  }
  const sides = dists.map((_, i) => String.fromCharCode(65 + i));
  const rounds = Number(process.env.CRYPTOTENSORS_AB_ROUNDS ?? 3);
  const mib = Number(process.env.CRYPTOTENSORS_AB_MIB ?? 256);
  const only = process.env.CRYPTOTENSORS_AB_CASES?.split(",");
  const api = await loadDist(dists[dists.length - 1].split("?")[0]);
  const engines = api.nativeInfo().aesGcmEngines;
  const dir = tempDir("ab-read");
  const data = fillPattern(new Uint8Array(mib << 20));
  const cases = [];
  for (const version of ["1", "2"]) {
    for (const alg of ["aes256gcm", "aes128gcm", "chacha20poly1305"]) {
      const name = `v${version}-${alg}`;
      const wanted = (engine) =>
        !only || only.some((o) => `${name} ${engine}`.startsWith(o) || name === o);
      const caseEngines = (alg === "chacha20poly1305" ? ["openssl"] : engines).filter(wanted);
      if (caseEngines.length === 0) continue;
      const set = api.generateKeySet({ alg, encKid: "e", signKid: "s" });
      const file = resolve(dir, `${name}.safetensors`);
      await api.saveFile(
        file,
        { w: { dtype: "U8", shape: [data.length], data } },
        { encryption: { encKey: set.keys[0], signKey: set.keys[1], version } },
      );
      for (const engine of caseEngines) {
        cases.push({ name: `${name} ${engine}`, file, keys: JSON.stringify(set), engine });
      }
    }
  }
  // A side may be "DIST?NAME=VALUE": its children run with that environment variable set.
  const run = (side, c) => {
    const [dist, setting] = side.split("?");
    const env = { ...process.env };
    if (setting) env[setting.split("=")[0]] = setting.split("=").slice(1).join("=");
    return JSON.parse(
      execFileSync(process.execPath, [SELF, "--child", dist, c.file, c.keys, c.engine, mib], {
        encoding: "utf8",
        timeout: 300_000,
        env,
      }),
    );
  };
  const rows = [];
  for (const c of cases) {
    const got = sides.map(() => []);
    for (let r = 0; r < rounds; r++) {
      dists.forEach((dist, i) => {
        got[i].push(run(dist, c));
      });
    }
    const metric = process.env.CRYPTOTENSORS_AB_CPU ? "cpu" : "wall";
    for (const mode of ["warm", "arena", "fresh"]) {
      const stats = got.map((runs) => {
        const pick = (x, key) =>
          metric === "cpu" ? x[mode][`cpu${key[0].toUpperCase()}${key.slice(1)}`] : x[mode][key];
        const best = runs.map((x) => pick(x, "best")).sort((a, b) => a - b);
        const med = runs.map((x) => pick(x, "median")).sort((a, b) => a - b);
        return {
          best: best[best.length - 1],
          median: med[Math.floor(med.length / 2)],
          spread: best[best.length - 1] - best[0],
        };
      });
      const row = { case: `${c.name} ${mode}` };
      stats.forEach((st, i) => {
        row[`${sides[i]} best`] = +st.best.toFixed(2);
        row[`${sides[i]} med`] = +st.median.toFixed(2);
        row[`${sides[i]} spr`] = +st.spread.toFixed(2);
      });
      stats.slice(1).forEach((st, i) => {
        row[`${sides[i + 1]}/A best`] = +(st.best / stats[0].best).toFixed(3);
        row[`${sides[i + 1]}/A med`] = +(st.median / stats[0].median).toFixed(3);
      });
      rows.push(row);
    }
    console.table(rows.slice(-3));
  }
  const unit = process.env.CRYPTOTENSORS_AB_CPU ? "GB per CPU-second" : "GB/s";
  console.log(`\n== ab-read, ${mib} MiB, ${rounds} rounds (${unit})`);
  dists.forEach((d, i) => {
    console.log(`${sides[i]} = ${d}`);
  });
  console.table(rows);
}

if (process.argv[2] === "--child") await child(process.argv.slice(3));
else await parent(process.argv.slice(2));
