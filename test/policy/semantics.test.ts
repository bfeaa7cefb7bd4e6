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
