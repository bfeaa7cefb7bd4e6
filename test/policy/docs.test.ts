// Every Rego example in the README's Policies section must be valid, decide as documented, and agree with OPA.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RegoEngine } from "../../src/policy/engine.js";
import { validatePolicy } from "../../src/policy/index.js";
import { agree, opaEvalAll, oursEval, REPO_ROOT, type Case } from "./opa-oracle.js";

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const docs = readme.slice(
  readme.indexOf("## Policies"),
  readme.indexOf("\n## ", readme.indexOf("## Policies") + 1),
);
const examples = [...docs.matchAll(/```rego\n([\s\S]*?)```/g)].map((m) => m[1]!);

const inputs = [
  {
    host: { hostname: "gpu-1" },
    tensors: ["embed.weight", "layers.0.w"],
    claims: { tier: "pro", expires: "2200-01-01T00:00:00Z" },
  },
  {
    host: { hostname: "build-7" },
    tensors: ["layers.0.w"],
    claims: { tier: "free", expires: "2200-01-01T00:00:00Z" },
  },
  {
    host: { hostname: "laptop.local" },
    tensors: ["embed.weight"],
    claims: { tier: "free", expires: "2001-01-01T00:00:00Z" },
  },
  { host: { hostname: "gpu-2" }, tensors: ["embed.weight"], claims: { tier: "pro" } },
  undefined,
];

describe("README Policies examples", () => {
  it("has the three documented examples, all within the subset", () => {
    expect(examples.length).toBe(3);
    for (const policy of examples) expect(() => validatePolicy(policy)).not.toThrow();
  });

  it("decide as documented and agree with opa eval", async () => {
    const engine = new RegoEngine();
    const [expiry, hosts, tiers] = examples as [string, string, string];
    expect(inputs.map((i) => engine.evaluate(hosts, i))).toEqual([true, true, false, true, false]);
    // Pro may read layers; free may not; an expired or missing expiry denies.
    expect(inputs.map((i) => engine.evaluate(tiers, i))).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(typeof engine.evaluate(expiry, undefined)).toBe("boolean");
    const cases: Case[] = examples.flatMap((policy) => inputs.map((input) => ({ policy, input })));
    const opa = await opaEvalAll(cases);
    cases.forEach((c, i) => expect(agree(opa[i]!, oursEval(engine, c)), c.policy).toBe(true));
  });
});
