// OpaServerEvaluator against a real `opa run --server` on 127.0.0.1 (random free port).
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptoTensorsError, type ErrorCode } from "../../src/errors.js";
import {
  checkPolicy,
  EmbeddedPolicyEvaluator,
  OpaServerEvaluator,
} from "../../src/policy/index.js";
import { CORPUS } from "./corpus.js";
import { opaBinary } from "./opa-oracle.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`opa exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("opa server did not become healthy in 20 s");
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | "none"> {
  try {
    await p;
    return "none";
  } catch (e) {
    if (e instanceof CryptoTensorsError) return e.code;
    throw e;
  }
}

describe("OpaServerEvaluator", () => {
  let child: ChildProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      opaBinary(),
      [
        "run",
        "--server",
        "--addr",
        `127.0.0.1:${port}`,
        "--log-level",
        "error",
        "--disable-telemetry",
      ],
      { stdio: "ignore" },
    );
    await waitHealthy(base, child);
  });

  afterAll(() => {
    child?.kill();
  });

  it("decides like the embedded engine on the corpus", async () => {
    const opa = new OpaServerEvaluator({ baseUrl: base });
    const embedded = new EmbeddedPolicyEvaluator();
    const outcome = async (p: Promise<boolean | undefined>): Promise<string> => {
      try {
        return String(await p);
      } catch (e) {
        if (e instanceof CryptoTensorsError) return e.code;
        throw e;
      }
    };
    const cases = CORPUS.filter((c) => !c.v0);
    let compared = 0;
    for (const c of cases) {
      const [remote, local] = [
        await outcome(opa.evaluate(c.policy, c.input as never)),
        await outcome(embedded.evaluate(c.policy, c.input as never)),
      ];
      // A literal such as `.5` is valid Rego but the server cannot return such a module as JSON.
      const serverRefuses = /(?:^|[^0-9A-Za-z_."])\.[0-9]/.test(c.policy);
      expect({ policy: c.policy, input: c.input, decision: remote }).toEqual({
        policy: c.policy,
        input: c.input,
        decision: serverRefuses ? "ERR_POLICY_UNSUPPORTED" : local,
      });
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it("keeps each file's policy separate although all declare package model", async () => {
    const opa = new OpaServerEvaluator({ baseUrl: base });
    const a = "package model\nallow if input.a == 1";
    const b = "package model\nallow if data.model.helper\nhelper if input.b == 1";
    expect(await opa.evaluate(a, { a: 1 })).toBe(true);
    expect(await opa.evaluate(b, { b: 1 })).toBe(true);
    // If the two uploads were merged into one package, each would also allow the other's input.
    expect(await opa.evaluate(a, { b: 1 })).toBeUndefined();
    expect(await opa.evaluate(b, { a: 1 })).toBeUndefined();
  });

  it("maps server answers to typed errors", async () => {
    const opa = new OpaServerEvaluator({ baseUrl: base });
    expect(await codeOf(opa.evaluate("package model\nallow if {", {}))).toBe("ERR_POLICY_INVALID");
    expect(
      await codeOf(opa.evaluate("package model\nallow := input.xs[_]", { xs: [true, false] })),
    ).toBe("ERR_POLICY_EVAL");
    expect(await codeOf(opa.evaluate("package model\nallow := 3", {}))).toBe(
      "ERR_POLICY_UNSUPPORTED",
    );
    expect(await codeOf(checkPolicy("package model\nallow := false", {}, opa))).toBe(
      "ERR_POLICY_DENIED",
    );
    expect(await codeOf(checkPolicy("package model\nallow if input.x", {}, opa))).toBe(
      "ERR_POLICY_UNDEFINED",
    );
    await expect(
      checkPolicy("package model\nallow := input.n > 1", { n: 2n ** 70n }, opa),
    ).resolves.toBeUndefined();
  });

  it("reports an unreachable server as ERR_POLICY_SERVER", async () => {
    const port = await freePort();
    const opa = new OpaServerEvaluator({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    expect(await codeOf(opa.evaluate("package model\nallow := true", {}))).toBe(
      "ERR_POLICY_SERVER",
    );
  });

  it("never uploads a policy it could not isolate: no cross-file injection (issue 11, finding 2)", async () => {
    const opa = new OpaServerEvaluator({ baseUrl: base });
    const victim =
      'package model\n\ndefault allow := false\n\nallow if input.claims.tier == "pro"\n';
    const victimPackage = `cryptotensors_${createHash("sha256").update(victim).digest("hex").slice(0, 32)}`;
    expect(await opa.evaluate(victim, { claims: { tier: "free" } })).toBe(false);
    // Template strings: OPA parses them, our lexer does not; the text names the victim's package.
    const attacks = [
      `package ${victimPackage}\n\nallow if { x := $"v{1}"; x == "v1" }\n`,
      `package\n${victimPackage}\nallow if true\n`,
      `package model.x\nallow if true\n`.replace("model.x", `${victimPackage} allow if true`),
    ];
    // Whatever each attack gets (refused, or isolated into a package of its own), the victim's
    // package holds only the victim's module and still denies.
    expect(await codeOf(opa.evaluate(attacks[0] as string, {}))).toBe("ERR_POLICY_UNSUPPORTED");
    expect(await codeOf(opa.evaluate(attacks[2] as string, {}))).toBe("ERR_POLICY_UNSUPPORTED");
    await codeOf(opa.evaluate(attacks[1] as string, {}));
    expect(await opa.evaluate(victim, { claims: { tier: "free" } })).toBe(false);
    const list = (await (await fetch(`${base}/v1/policies`)).json()) as {
      result: Array<{ raw: string; ast: { package: { path: Array<{ value: string }> } } }>;
    };
    const inVictim = list.result.filter((p) => p.ast.package.path[1]?.value === victimPackage);
    expect(inVictim.length).toBe(1);
    for (const attack of attacks) expect(list.result.some((p) => p.raw === attack)).toBe(false);
    // A fresh evaluator (another process) still sees the victim deny.
    expect(
      await new OpaServerEvaluator({ baseUrl: base }).evaluate(victim, {
        claims: { tier: "free" },
      }),
    ).toBe(false);
  });

  it("rejects a malformed base URL with TypeError", () => {
    expect(() => new OpaServerEvaluator({ baseUrl: "not a url" })).toThrow(TypeError);
    expect(() => new OpaServerEvaluator({ baseUrl: "file:///tmp/x" })).toThrow(TypeError);
  });
});
