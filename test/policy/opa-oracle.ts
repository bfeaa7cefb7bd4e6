// Runs the real OPA binary (scripts/install-opa.sh) as the oracle for differential tests, and our
// engine the same way, reducing both to comparable outcomes.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CryptoTensorsError } from "../../src/errors.js";
import type { RegoEngine } from "../../src/policy/engine.js";
import { stringifyInput } from "../../src/policy/input.js";
import { toJS } from "../../src/policy/values.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** Path of the OPA binary; throws (never skips) when it is missing. */
export function opaBinary(): string {
  const bin = process.env["OPA_BIN"] ?? join(REPO_ROOT, ".cache/opa/bin/opa");
  if (!existsSync(bin)) {
    throw new Error(
      `OPA binary not found at ${bin}: run scripts/install-opa.sh (or set OPA_BIN) before the policy tests`,
    );
  }
  return bin;
}

export type Outcome =
  | { kind: "value"; value: unknown }
  | { kind: "undefined" }
  | { kind: "error"; code: string; message: string };

export interface Case {
  policy: string;
  /** `undefined` = no input document (the reference's mode). */
  input: unknown;
  /** Pre-1.0 syntax: OPA needs --v0-compatible for it. */
  v0?: boolean;
}

function run(
  bin: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((res) => {
    execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ stdout, stderr, code: err === null ? 0 : typeof err.code === "number" ? err.code : 1 });
    });
  });
}

async function opaOne(bin: string, dir: string, idx: number, c: Case): Promise<Outcome> {
  const policyPath = join(dir, `p${idx}.rego`);
  writeFileSync(policyPath, c.policy);
  const args = ["eval", "--format", "json", "-d", policyPath];
  if (c.input !== undefined) {
    const inputPath = join(dir, `i${idx}.json`);
    writeFileSync(inputPath, stringifyInput(c.input));
    args.push("-i", inputPath);
  }
  if (c.v0) args.push("--v0-compatible");
  args.push("data.model.allow");
  const { stdout, stderr } = await run(bin, args);
  let out: {
    result?: { expressions: { value: unknown }[] }[];
    errors?: { code: string; message: string }[];
  };
  try {
    out = JSON.parse(stdout) as typeof out;
  } catch {
    // A result holding a kept number text that is not JSON (to_number("03")): the encoder fails.
    const invalidNumber = /json: invalid number literal .*/.exec(stderr);
    if (invalidNumber !== null)
      return { kind: "error", code: "eval_json_encode", message: invalidNumber[0] };
    throw new Error(`opa eval printed no JSON for case ${idx}: ${stderr}`);
  }
  if (out.errors !== undefined && out.errors.length > 0) {
    return {
      kind: "error",
      code: out.errors[0]!.code,
      message: out.errors.map((e) => e.message).join("; "),
    };
  }
  if (out.result === undefined || out.result.length === 0) return { kind: "undefined" };
  return { kind: "value", value: out.result[0]!.expressions[0]!.value };
}

/** Evaluates all cases with `opa eval`, a few processes at a time. */
export async function opaEvalAll(cases: Case[], concurrency = 8): Promise<Outcome[]> {
  const bin = opaBinary();
  const dir = mkdtempSync(join(tmpdir(), "opa-oracle-"));
  try {
    const results: Outcome[] = new Array<Outcome>(cases.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await opaOne(bin, dir, i, cases[i]!);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our engine's outcome for a case; OPA-style error codes are mapped to ours by {@link agree}. */
export function oursEval(engine: RegoEngine, c: Case): Outcome {
  try {
    const v = engine.evaluateValue(c.policy, c.input);
    if (v === undefined) return { kind: "undefined" };
    // Round-trip through JSON so bigints compare like OPA's JSON numbers.
    return { kind: "value", value: JSON.parse(stringifyInput(toJS(v))) };
  } catch (e) {
    if (e instanceof CryptoTensorsError) return { kind: "error", code: e.code, message: e.message };
    throw e;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    // Non-integer arithmetic: OPA computes in arbitrary precision, we in IEEE doubles (the README's Policies section).
    return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (
    a !== null &&
    b !== null &&
    typeof a === "object" &&
    typeof b === "object" &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      sameJson(ka, kb) &&
      ka.every((k) =>
        sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/** Whether our outcome matches OPA's: same value, both undefined, or errors of the same class. */
export function agree(opa: Outcome, ours: Outcome): boolean {
  if (opa.kind === "error") {
    if (ours.kind !== "error") return false;
    // Compile-time errors (rego_parse_error, rego_type_error, rego_unsafe_var_error, …) vs run-time (eval_*).
    return opa.code.startsWith("rego_")
      ? ours.code === "ERR_POLICY_INVALID"
      : ours.code === "ERR_POLICY_EVAL";
  }
  if (opa.kind === "undefined") return ours.kind === "undefined";
  return ours.kind === "value" && sameJson(opa.value, ours.value);
}
