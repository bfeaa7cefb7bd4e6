// Differential tests: the embedded engine must agree with the real OPA on every corpus case.
import { describe, expect, it } from "vitest";
import { RegoEngine } from "../../src/policy/engine.js";
import { CORPUS } from "./corpus.js";
import { agree, opaEvalAll, oursEval } from "./opa-oracle.js";

describe("embedded Rego engine vs opa eval (corpus)", () => {
  it(`agrees on all ${CORPUS.length} policy × input cases`, async () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    const opa = await opaEvalAll(CORPUS);
    const engine = new RegoEngine();
    const v0Engine = new RegoEngine({ v0Syntax: true });
    const mismatches = CORPUS.flatMap((c, i) => {
      const ours = oursEval(c.v0 ? v0Engine : engine, c);
      return agree(opa[i]!, ours) ? [] : [{ policy: c.policy, input: c.input, opa: opa[i], ours }];
    });
    expect(mismatches, JSON.stringify(mismatches, null, 2)).toEqual([]);
    // The corpus must exercise every outcome class.
    const kinds = new Set(opa.map((o) => (o.kind === "error" ? o.code.split("_")[0] : o.kind)));
    expect([...kinds].sort()).toEqual(["eval", "rego", "undefined", "value"]);
  });
});
