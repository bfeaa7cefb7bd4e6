// Benchmark: deciding a typical licence policy with the embedded Rego engine once the policy is
// compiled (cached by text), against the baseline of parsing + compiling + evaluating from scratch
// in the same run. Prints a table and writes bench/results/policy.json.
//
// Run: npm run build:ts && node bench/policy.mjs
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(process.env.CRYPTOTENSORS_DIST ?? join(root, "dist"), "policy", "index.js");
if (!existsSync(entry)) {
  console.error(`bench/policy.mjs: ${entry} is missing; run \`npm run build:ts\` first`);
  process.exit(1);
}
const { RegoEngine, buildPolicyInput } = await import(entry);

const licence = `package model
import rego.v1

default allow := false

tiers := {"free": ["embed."], "pro": ["embed.", "layers.", "head."]}
allowed_hosts := {"gpu-1", "gpu-2", "build-runner"}

expired if time.now_ns() >= time.parse_rfc3339_ns(input.claims.expires)

allow if {
  not expired
  input.host.hostname in allowed_hosts
  prefixes := tiers[input.claims.tier]
  every t in input.tensors {
    some p in prefixes
    startswith(t, p)
  }
}`;

const input = buildPolicyInput({
  path: "/models/m.safetensors",
  tensors: Array.from({ length: 16 }, (_, i) => `layers.${i}.weight`),
  keyIds: { enc: "master-1", sign: "signer-1" },
  claims: { tier: "pro", expires: "2200-01-01T00:00:00Z", sub: "alice" },
});
input.host.hostname = "gpu-1";

const warm = new RegoEngine();
if (warm.evaluate(licence, input) !== true)
  throw new Error("the benchmark policy must allow its input");

const bench = new Bench({ time: 1000, warmup: true });
bench
  .add("embedded: evaluate (compiled, cached)", () => {
    warm.evaluate(licence, input);
  })
  .add("baseline: parse + compile + evaluate (cold)", () => {
    new RegoEngine().evaluate(licence, input);
  });
await bench.run();

const rows = bench.tasks.map((t) => ({
  task: t.name,
  "mean (µs)": +(t.result.latency.mean * 1000).toFixed(2),
  "p99 (µs)": +(t.result.latency.p99 * 1000).toFixed(2),
  "ops/s": Math.round(t.result.throughput.mean),
  samples: t.result.latency.samples.length,
}));
console.table(rows);
const [cached, cold] = bench.tasks.map((t) => t.result.latency.mean);
const ratio = cold / cached;
console.log(
  `cached evaluation is ${ratio.toFixed(1)}× faster than cold parse+evaluate; mean ${(cached * 1000).toFixed(1)} µs per decision`,
);

mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(
  join(root, "bench", "results", "policy.json"),
  `${JSON.stringify(
    {
      scenario: "licence policy decision",
      node: process.version,
      rows,
      ratioColdOverCached: +ratio.toFixed(2),
      meanCachedMs: cached,
    },
    null,
    2,
  )}\n`,
);
