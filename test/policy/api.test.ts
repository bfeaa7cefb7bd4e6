// The public policy API: decisions to typed errors, write-time validation, the input document,
// the subset's refusals, and fail-closed limits on hostile policies.
import { describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";
import { RegoEngine } from "../../src/policy/engine.js";
import {
  buildPolicyInput,
  checkPolicy,
  EmbeddedPolicyEvaluator,
  MAX_POLICY_LENGTH,
  stringifyInput,
  validatePolicy,
  type PolicyEvaluator,
} from "../../src/policy/index.js";

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<ErrorCode | "none"> {
  try {
    await (typeof p === "function" ? p() : p);
    return "none";
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e.code;
    throw e;
  }
}

const licence = `package model
import rego.v1

default allow := false

allow if {
  input.claims.tier == "pro"
  time.now_ns() < time.parse_rfc3339_ns(input.claims.expires)
  every t in input.tensors { startswith(t, "model.") }
}`;

describe("checkPolicy", () => {
  it("resolves on true and maps false / undefined / non-boolean to typed errors", async () => {
    await expect(checkPolicy("package model\nallow := true", {})).resolves.toBeUndefined();
    expect(await codeOf(checkPolicy("package model\nallow := false", {}))).toBe(
      "ERR_POLICY_DENIED",
    );
    expect(await codeOf(checkPolicy("package model\nallow if input.x", {}))).toBe(
      "ERR_POLICY_UNDEFINED",
    );
    expect(await codeOf(checkPolicy("package other\nallow := true", {}))).toBe(
      "ERR_POLICY_UNDEFINED",
    );
    expect(await codeOf(checkPolicy("package model\nallow := 1", {}))).toBe(
      "ERR_POLICY_UNSUPPORTED",
    );
    expect(
      await codeOf(checkPolicy("package model\nallow := input.xs[_]", { xs: [true, false] })),
    ).toBe("ERR_POLICY_EVAL");
    expect(await codeOf(checkPolicy("package model\nallow if {", {}))).toBe("ERR_POLICY_INVALID");
  });

  it("messages say what to do", async () => {
    await expect(checkPolicy("package model\nallow := false", {})).rejects.toThrow(
      /denied access.*check the policy/,
    );
    await expect(checkPolicy("package model\nallow if false", {})).rejects.toThrow(
      /needs `package model` and a rule or `default allow`/,
    );
  });

  it("evaluates a licence policy against the input document", async () => {
    const base = {
      path: "/m.safetensors",
      tensors: ["model.w"],
      keyIds: { enc: "k1" },
      claims: { tier: "pro", expires: "2999-01-01T00:00:00Z" },
    };
    // 2999 is past int64 nanoseconds, so parse_rfc3339_ns is undefined there (as in OPA): denied.
    expect(await codeOf(checkPolicy(licence, buildPolicyInput(base)))).toBe("ERR_POLICY_DENIED");
    const ok = { ...base, claims: { tier: "pro", expires: "2200-01-01T00:00:00Z" } };
    await expect(checkPolicy(licence, buildPolicyInput(ok))).resolves.toBeUndefined();
    expect(
      await codeOf(
        checkPolicy(licence, buildPolicyInput({ ...ok, tensors: ["model.w", "secret.x"] })),
      ),
    ).toBe("ERR_POLICY_DENIED");
    expect(
      await codeOf(
        checkPolicy(
          licence,
          buildPolicyInput({ ...ok, claims: { tier: "free", expires: "2200-01-01T00:00:00Z" } }),
        ),
      ),
    ).toBe("ERR_POLICY_DENIED");
    expect(
      await codeOf(
        checkPolicy(
          licence,
          buildPolicyInput({ ...ok, claims: { tier: "pro", expires: "2001-01-01T00:00:00Z" } }),
        ),
      ),
    ).toBe("ERR_POLICY_DENIED");
  });

  it("uses a supplied evaluator and refuses a non-boolean decision from it", async () => {
    const weird: PolicyEvaluator = { evaluate: async () => "yes" as unknown as boolean };
    expect(await codeOf(checkPolicy("package model\nallow := true", {}, weird))).toBe(
      "ERR_POLICY_UNSUPPORTED",
    );
    const always: PolicyEvaluator = { evaluate: async () => true };
    await expect(checkPolicy("package model\nallow := false", {}, always)).resolves.toBeUndefined();
  });
});

describe("validatePolicy", () => {
  it("accepts the subset and refuses parse errors with ERR_POLICY_INVALID", async () => {
    expect(() => validatePolicy(licence)).not.toThrow();
    for (const bad of [
      "",
      "allow := true",
      "package model\nallow :=",
      "package model\nallow if { x > 1 }",
      'package model\nallow if "unterminated',
    ]) {
      expect(await codeOf(() => validatePolicy(bad)), bad).toBe("ERR_POLICY_INVALID");
    }
  });

  it("refuses the pre-1.0 brace form unless v0 syntax is enabled", async () => {
    expect(await codeOf(() => validatePolicy("package model\nallow { true }"))).toBe(
      "ERR_POLICY_INVALID",
    );
    expect(() => validatePolicy("package model\nallow { true }", { v0Syntax: true })).not.toThrow();
    expect(
      new RegoEngine({ v0Syntax: true }).evaluate("package model\nallow { input.a == 1 }", {
        a: 1,
      }),
    ).toBe(true);
  });

  it.each([
    [
      "package model\nallowed[x][y] := 1 if { x := 1; y := 2 }\nallow := true",
      /multi-level reference heads/,
    ],
    ["package model\na.b := 1\nallow := true", /multi-level reference heads/],
    ["package model\nallow if input.x with input as {}", /`with` modifiers/],
    ['package model\nallow if regex.match("a", "a")', /builtin regex.match/],
    ["package model\nimport data.other\nallow := true", /import data.other/],
    ["package model\nallow := data", /whole `data` document/],
  ])("names the unsupported construct: %s", async (policy, what) => {
    expect(await codeOf(() => validatePolicy(policy))).toBe("ERR_POLICY_UNSUPPORTED");
    expect(() => validatePolicy(policy)).toThrow(what);
  });
});

describe("hostile policies fail closed", () => {
  it("refuses an oversized policy", async () => {
    const big = `package model\nallow := true\n${"#".repeat(MAX_POLICY_LENGTH)}`;
    expect(await codeOf(() => validatePolicy(big))).toBe("ERR_POLICY_UNSUPPORTED");
  });

  it("refuses deeply nested expressions without overflowing the stack", async () => {
    const deep = `package model\nallow := ${"(".repeat(5000)}1${")".repeat(5000)}`;
    expect(["ERR_POLICY_INVALID", "ERR_POLICY_UNSUPPORTED"]).toContain(
      await codeOf(() => validatePolicy(deep)),
    );
    const arrays = `package model\nallow := ${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(["ERR_POLICY_INVALID", "ERR_POLICY_UNSUPPORTED"]).toContain(
      await codeOf(() => validatePolicy(arrays)),
    );
  });

  it("turns stack exhaustion (very long bodies, deep every nesting, long rule chains) into policy errors", async () => {
    const engine = new RegoEngine();
    const longBody = `package model\nallow if {\n${"1 == 1\n".repeat(9000)}}`;
    const everyNest =
      "package model\nallow if {\n" +
      "every x in [1] {\n".repeat(3000) +
      "true\n" +
      "}\n".repeat(3000) +
      "}";
    const chain =
      "package model\n" +
      Array.from({ length: 3000 }, (_, i) => `r${i} if r${i + 1}`).join("\n") +
      "\nr3000 := true\nallow if r0";
    for (const policy of [longBody, everyNest, chain]) {
      expect(["ERR_POLICY_EVAL", "ERR_POLICY_UNSUPPORTED"]).toContain(
        await codeOf(() => engine.evaluate(policy, {})),
      );
    }
  });

  it("stops a combinatorial evaluation at the step budget", async () => {
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const blowup =
      "package model\nallow if { some a in input.xs; some b in input.xs; some c in input.xs; a + b + c < 0 }";
    const started = Date.now();
    expect(await codeOf(() => new RegoEngine({ maxSteps: 100_000 }).evaluate(blowup, { xs }))).toBe(
      "ERR_POLICY_EVAL",
    );
    expect(Date.now() - started).toBeLessThan(2000);
    // The same policy with a small input is fine.
    expect(new RegoEngine().evaluate(blowup, { xs: [1, 2] })).toBeUndefined();
  });

  it("stops at the time limit", async () => {
    const xs = Array.from({ length: 400 }, (_, i) => i);
    const blowup =
      "package model\nallow if { some a in input.xs; some b in input.xs; some c in input.xs; a + b + c < 0 }";
    expect(
      await codeOf(() =>
        new RegoEngine({ maxSteps: 1e12, timeoutMs: 50 }).evaluate(blowup, { xs }),
      ),
    ).toBe("ERR_POLICY_EVAL");
  });
});

describe("EmbeddedPolicyEvaluator and RegoEngine", () => {
  it("caches compiled policies by text", () => {
    const engine = new RegoEngine();
    expect(engine.compile(licence)).toBe(engine.compile(licence));
    expect(engine.compile(licence)).not.toBe(new RegoEngine().compile(licence));
  });

  it("evaluates with no input document like the reference", async () => {
    const ev = new EmbeddedPolicyEvaluator();
    expect(
      await ev.evaluate("package model\ndefault allow := false\nallow if input.x", undefined),
    ).toBe(false);
    expect(await ev.evaluate("package model\nallow := input == input", undefined)).toBeUndefined();
  });

  it("uses one clock reading per evaluation, injectable for tests", () => {
    const engine = new RegoEngine({ now: () => 1_700_000_000_000_000_000n });
    expect(engine.evaluateValue("package model\nallow := time.now_ns()", undefined)).toBe(
      1_700_000_000_000_000_000n,
    );
    expect(
      engine.evaluate("package model\nallow := time.now_ns() == time.now_ns()", undefined),
    ).toBe(true);
  });
});

describe("buildPolicyInput", () => {
  it("builds the documented document", () => {
    const now = new Date("2030-05-06T07:08:09.010Z");
    const input = buildPolicyInput({
      path: "/a/m.safetensors",
      tensors: ["w", "b"],
      keyIds: { enc: "k1" },
      claims: { tier: "pro" },
      now,
    });
    expect(input).toMatchObject({
      time: { now_ns: 1904281689010000000n, rfc3339: "2030-05-06T07:08:09.010Z" },
      host: { platform: process.platform, arch: process.arch },
      process: { node_version: process.version },
      file: { path: "/a/m.safetensors" },
      tensors: ["w", "b"],
      keys: { enc: "k1", sign: null },
      claims: { tier: "pro" },
    });
    expect(typeof input.host.hostname).toBe("string");
    expect(stringifyInput({ t: input.time.now_ns })).toBe('{"t":1904281689010000000}');
    // The exact nanosecond value reaches the policy.
    expect(
      new RegoEngine().evaluate(
        "package model\nallow := input.time.now_ns == 1904281689010000000",
        input,
      ),
    ).toBe(true);
  });

  it("rejects misuse with TypeError", () => {
    expect(() =>
      buildPolicyInput({ path: 1 as unknown as string, tensors: [], keyIds: {} }),
    ).toThrow(TypeError);
    expect(() =>
      buildPolicyInput({ path: "p", tensors: [1 as unknown as string], keyIds: {} }),
    ).toThrow(TypeError);
    expect(() =>
      buildPolicyInput({
        path: "p",
        tensors: [],
        keyIds: {},
        claims: [] as unknown as Record<string, unknown>,
      }),
    ).toThrow(TypeError);
    expect(() => new RegoEngine().evaluate("package model\nallow := true", { f: () => 1 })).toThrow(
      TypeError,
    );
  });
});
