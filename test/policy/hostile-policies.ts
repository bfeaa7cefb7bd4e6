// Hostile policies for the bounded-evaluation test (issue 11, finding 7). Run as a child process by
// bounded.test.ts (`vite-node test/policy/hostile-policies.ts`): a policy that crashes V8 or blocks
// must take down this child, not the test runner. Prints one JSON line per policy.
import { CryptoTensorsError } from "../../src/errors.js";
import { RegoEngine } from "../../src/policy/engine.js";

const lines = (n: number, f: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => f(i + 1)).join("\n");

/** name → policy text; every one must end in a typed policy error, quickly. */
export const HOSTILE: Record<string, string> = {
  "array.concat doubling": `package model\na0 := [1, 2, 3, 4, 5, 6, 7, 8]\n${lines(30, (i) => `a${i} := array.concat(a${i - 1}, a${i - 1})`)}\nallow if count(a30) > 0`,
  "string doubling": `package model\ns0 := "abcdefgh"\n${lines(34, (i) => `s${i} := concat("", [s${i - 1}, s${i - 1}])`)}\nallow if count(s34) > 0`,
  "sprintf doubling": `package model\ns0 := "abcdefgh"\n${lines(34, (i) => `s${i} := sprintf("%s%s", [s${i - 1}, s${i - 1}])`)}\nallow if count(s34) > 0`,
  "replace blow-up": `package model\ns0 := "aaaaaaaaaaaaaaaa"\n${lines(8, (i) => `s${i} := replace(s${i - 1}, "a", s${i - 1})`)}\nallow if count(s8) > 0`,
  "shared-structure doubling, hashed": `package model\na0 := [1]\n${lines(60, (i) => `a${i} := [a${i - 1}, a${i - 1}]`)}\nallow if count({a60}) > 0`,
  "shared-structure doubling, compared": `package model\na0 := [1]\nb0 := [1]\n${lines(60, (i) => `a${i} := [a${i - 1}, a${i - 1}]\nb${i} := [b${i - 1}, b${i - 1}]`)}\nallow if a60 == b60`,
  "shared-structure doubling, printed": `package model\na0 := [1]\n${lines(60, (i) => `a${i} := [a${i - 1}, a${i - 1}]`)}\nallow if sprintf("%v", [a60]) != ""`,
  "glob with ten stars": `package model\nallow := glob.match("*a*a*a*a*a*a*a*a*a*a*b", null, "${"a".repeat(2000)}")`,
  "glob over a long text": `package model\ns0 := "aaaaaaaaaaaaaaaa"\n${lines(16, (i) => `s${i} := concat("", [s${i - 1}, s${i - 1}])`)}\nallow := glob.match("{*a,*b,*c,*d}*{a,b}*{c,d}*z", null, s16)`,
  "split into many pieces": `package model\ns0 := "a,a,a,a,a,a,a,a"\n${lines(30, (i) => `s${i} := concat(",", [s${i - 1}, s${i - 1}])`)}\nallow if count(split(s30, ",")) > 0`,
  "sort of a doubled array": `package model\na0 := [8, 7, 6, 5, 4, 3, 2, 1]\n${lines(30, (i) => `a${i} := array.concat(a${i - 1}, a${i - 1})`)}\nallow if count(sort(a30)) > 0`,
  "set union doubling": `package model\ns0 := {1, 2, 3, 4, 5, 6, 7, 8}\n${lines(30, (i) => `s${i} := s${i - 1} | {x + ${8 * 2 ** (i - 1)} | some x in s${i - 1}}`)}\nallow if count(s30) > 0`,
};

if (process.env["CT_RUN_HOSTILE"] === "1") {
  const engine = new RegoEngine();
  for (const [name, policy] of Object.entries(HOSTILE)) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    let outcome: string;
    try {
      outcome = `value ${JSON.stringify(engine.evaluate(policy, {}))}`;
    } catch (e) {
      outcome = e instanceof CryptoTensorsError ? e.code : `crash ${String(e)}`;
    }
    const ms = Math.round(performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    process.stdout.write(`${JSON.stringify({ name, outcome, ms, cpuMs })}\n`);
  }
}
