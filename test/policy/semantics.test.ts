// Issue 19: where the engine keeps a deliberate difference from OPA it fails closed, and the
// constructs outside the subset are refused with ERR_POLICY_UNSUPPORTED in every position.
import { describe, expect, it } from "vitest";
import { CryptoTensorsError } from "../../src/errors.js";
import { RegoEngine } from "../../src/policy/engine.js";

const engine = new RegoEngine();
const codeOf = (policy: string, input: unknown = {}): string => {
  try {
    engine.evaluateValue(policy, input);
    return "none";
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e.code;
    throw e;
  }
};

describe("deliberate differences fail closed", () => {
  it("replace with an empty old string inside multi-byte characters is undefined (OPA returns invalid UTF-8)", () => {
    expect(
      engine.evaluateValue('package model\nallow := replace("é", "", "-")', {}),
    ).toBeUndefined();
    expect(engine.evaluateValue('package model\nallow := replace("ab", "", "-")', {})).toBe(
      "-a-b-",
    );
  });

  it("sprintf with an explicit argument index is undefined", () => {
    expect(
      engine.evaluateValue('package model\nallow := sprintf("%[1]d", [1])', {}),
    ).toBeUndefined();
  });
});

describe("class O: `with` is unsupported wherever it stands", () => {
  it.each([
    'package model\nt := input.x\nallow if { x := data.model.t with input as {"x": 1} }',
    "package model\nallow if { x := 1 with input as {} }",
    "package model\nallow if { x = 1 with input as {} }",
    "package model\nallow if input.x with input as {}",
    "package model\nallow if { not input.x with input as {} }",
    "package model\nallow if { some x in [1] with input as {} }",
  ])("%s", (policy) => {
    expect(codeOf(policy)).toBe("ERR_POLICY_UNSUPPORTED");
  });
});

describe("numbers keep the text OPA keeps", () => {
  it("a result holding a number text that is not JSON is an evaluation error, as opa eval's encoder", () => {
    expect(codeOf('package model\nallow := to_number("03")')).toBe("ERR_POLICY_EVAL");
    expect(codeOf("package model\nallow := {1: [.5]}")).toBe("ERR_POLICY_EVAL");
    // Only handing the text out fails: the value itself compares as a number.
    expect(engine.evaluate('package model\nallow if to_number("03") == 3', {})).toBe(true);
    expect(engine.evaluateValue('package model\nallow := {to_number("03"): 1}', {})).toBeDefined();
  });

  it("a denying decision over a float-notation number stays a denial", () => {
    const policy =
      'package model\ndefault allow := false\nallow if sprintf("%d", [input.claims.seats]) == "5"';
    expect(engine.evaluate(policy, { claims: { seats: 5 } })).toBe(true);
    // OPA hands Go a float64 for 5e0 (text with an exponent), so %d does not print "5".
    expect(engine.evaluate(policy.replace("input.claims.seats", "5e0"), {})).toBe(false);
    expect(engine.evaluate(policy, { claims: { seats: 5e21 } })).toBe(false);
  });
});
