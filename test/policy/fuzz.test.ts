// Fail-closed fuzzing: whatever the policy text, the engine answers or throws a policy error —
// never another exception, a crash or a hang.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { RegoEngine } from "../../src/policy/engine.js";
import { inputArb, policyArb } from "./generators.js";

const VOCAB = [
  "package",
  "model",
  "import",
  "rego.v1",
  "default",
  "allow",
  "if",
  "else",
  "not",
  "some",
  "every",
  "in",
  "contains",
  "with",
  "as",
  ":=",
  "=",
  "==",
  "!=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "|",
  "&",
  "{",
  "}",
  "[",
  "]",
  "(",
  ")",
  ",",
  ";",
  ".",
  ":",
  "input",
  "data",
  "x",
  "_",
  "true",
  "null",
  "1",
  "-2",
  "0.5",
  '"s"',
  "`raw`",
  "count",
  "time.now_ns",
  "set",
  "#",
  "\n",
];

const POLICY_CODES = new Set(["ERR_POLICY_INVALID", "ERR_POLICY_UNSUPPORTED", "ERR_POLICY_EVAL"]);

function decide(engine: RegoEngine, policy: string, input: unknown): void {
  try {
    engine.evaluateValue(policy, input);
  } catch (e) {
    if (!(e instanceof CryptoTensorsError) || !POLICY_CODES.has(e.code)) throw e;
  }
}

describe("policy engine fuzzing", () => {
  const engine = new RegoEngine({ timeoutMs: 200 });

  it("token soups after a package line", () => {
    const soup = fc
      .array(fc.constantFrom(...VOCAB), { maxLength: 40 })
      .map((t) => `package model\n${t.join(" ")}`);
    fc.assert(
      fc.property(soup, inputArb, (p, i) => decide(engine, p, i)),
      { numRuns: 3000 },
    );
  });

  it("arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (p) => decide(engine, p, {})),
      { numRuns: 2000 },
    );
  });

  it("mutated valid policies", () => {
    const mutated = fc
      .tuple(policyArb, fc.nat(), fc.nat({ max: 5 }), fc.constantFrom(...VOCAB))
      .map(([p, at, len, ins]) => {
        const i = at % (p.length + 1);
        return p.slice(0, i) + ins + p.slice(i + len);
      });
    fc.assert(
      fc.property(mutated, inputArb, (p, i) => decide(engine, p, i)),
      { numRuns: 2000 },
    );
  });

  it("an unterminated deep nesting is a parse error, not a stack overflow", () => {
    expect(() =>
      engine.evaluateValue(`package model\nallow := [${"{".repeat(30_000)}`, {}),
    ).toThrow(expect.objectContaining({ code: "ERR_POLICY_INVALID" }));
  });
});
