/**
 * Hands policy decisions to a running OPA server over its REST API instead of the embedded engine.
 *
 * Every file's policy declares `package model`, and OPA merges modules of one package, so two
 * files' policies uploaded side by side would OR their `allow` rules together. Each policy is
 * therefore uploaded under a package of its own, derived from the SHA-256 of its text
 * (`package model` → `package cryptotensors_<hash>`, `data.model.` → `data.cryptotensors_<hash>.`).
 */
import { createHash } from "node:crypto";
import { CryptoTensorsError } from "../errors.js";
import { stringifyInput, type PolicyInput } from "./input.js";
import { tokenize, type Token } from "./lexer.js";
import type { PolicyEvaluator } from "./types.js";

/** Options of {@link OpaServerEvaluator}. */
export interface OpaServerOptions {
  /** Base URL of the server; default `http://127.0.0.1:8181`. */
  baseUrl?: string;
  /** Per-request timeout in milliseconds; default 5000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization` for a server started with `--authentication=token`). */
  headers?: Record<string, string>;
}

interface OpaErrorBody {
  code?: string;
  message?: string;
  errors?: { code?: string; message?: string }[];
}

/** Finds the package path tokens and rewrites it plus `data.<package>` references to `isolated`. */
function isolatePackage(
  rego: string,
  isolated: string,
): { text: string; isModel: boolean } | undefined {
  let toks: Token[];
  try {
    toks = tokenize(rego);
  } catch {
    return undefined;
  }
  if (toks[0]?.text !== "package") return undefined;
  const pkg: Token[] = [toks[1]!];
  for (let i = 2; toks[i]?.text === "." && toks[i + 1]?.type === "ident"; i += 2)
    pkg.push(toks[i + 1]!);
  const isModel = pkg.length === 1 && pkg[0]!.text === "model";
  const last = pkg[pkg.length - 1]!;
  if (last.line !== pkg[0]!.line) return undefined;
  const lines = rego.split("\n");
  // Any package is isolated (so uploads never merge); only `model` is then queried.
  const edits: { line: number; col: number; len: number; text: string }[] = [
    {
      line: pkg[0]!.line,
      col: pkg[0]!.col,
      len: last.col + last.text.length - pkg[0]!.col,
      text: isolated,
    },
  ];
  for (let i = 0; isModel && i + 2 < toks.length; i++) {
    const [a, dot, b] = [toks[i]!, toks[i + 1]!, toks[i + 2]!];
    if (
      a.type === "ident" &&
      a.text === "data" &&
      dot.text === "." &&
      b.type === "ident" &&
      b.text === "model"
    ) {
      edits.push({ line: b.line, col: b.col, len: 5, text: isolated });
    }
  }
  // Apply right to left so earlier columns stay valid.
  edits.sort((x, y) => y.line - x.line || y.col - x.col);
  for (const e of edits) {
    const l = lines[e.line - 1]!;
    lines[e.line - 1] = l.slice(0, e.col - 1) + e.text + l.slice(e.col - 1 + e.len);
  }
  return { text: lines.join("\n"), isModel };
}

/**
 * True when `text` tokenizes and its package clause is exactly `package <pkg>` with nothing
 * after it on that line (no `.x`, no `["x"]`): the module cannot place rules outside `data.<pkg>`.
 */
function declaresExactly(text: string, pkg: string): boolean {
  let toks: Token[];
  try {
    toks = tokenize(text);
  } catch {
    return false;
  }
  const [keyword, name, next] = [toks[0], toks[1], toks[2]];
  if (keyword?.text !== "package" || name?.type !== "ident" || name.text !== pkg) return false;
  if (toks.filter((t) => t.text === "package" && t.type !== "string").length !== 1) return false;
  return next === undefined || next.type === "eof" || next.line > name.line;
}

/**
 * A number literal whose text is not JSON (`.5`): OPA keeps the text, and its server then fails to
 * encode the module for every policy read (GET /v1/policies answers 500 for all modules).
 */
function nonJsonNumberLiteral(text: string): string | undefined {
  try {
    return tokenize(text).find((t) => t.type === "number" && !/^[0-9]/.test(t.text))?.text;
  } catch {
    return undefined;
  }
}

function messageOf(body: OpaErrorBody | undefined): string {
  const first = body?.errors?.[0];
  return [body?.message, first?.message].filter(Boolean).join(": ") || "no details";
}

/**
 * Policy evaluator backed by an OPA server (`opa run --server`).
 *
 * @example
 * ```ts
 * const opa = new OpaServerEvaluator({ baseUrl: "http://127.0.0.1:8181" });
 * await checkPolicy(rego, buildPolicyInput(ctx), opa);
 * ```
 */
export class OpaServerEvaluator implements PolicyEvaluator {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly uploaded = new Set<string>();

  constructor(options: OpaServerOptions = {}) {
    const base = options.baseUrl ?? "http://127.0.0.1:8181";
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new TypeError(`baseUrl is not a URL: ${base}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new TypeError("baseUrl must be http: or https:");
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.headers = { ...options.headers };
  }

  async evaluate(rego: string, input: PolicyInput | undefined): Promise<boolean | undefined> {
    if (typeof rego !== "string") throw new TypeError("policy must be a string");
    const hash = createHash("sha256").update(rego).digest("hex").slice(0, 32);
    const pkg = `cryptotensors_${hash}`;
    // Never upload what was not isolated: OPA accepts syntax our lexer does not (template
    // strings, …), and a module uploaded verbatim could declare another file's isolated package
    // and add rules to that file's policy.
    const isolated = isolatePackage(rego, pkg);
    if (isolated === undefined || !declaresExactly(isolated.text, pkg)) {
      throw new CryptoTensorsError(
        "ERR_POLICY_UNSUPPORTED",
        "the policy's package clause cannot be isolated for the OPA server (the policy does not tokenize, or its package clause is not a plain dotted name on one line); it was not uploaded. Use the embedded engine, or simplify the policy",
      );
    }
    const literal = nonJsonNumberLiteral(isolated.text);
    if (literal !== undefined) {
      throw new CryptoTensorsError(
        "ERR_POLICY_UNSUPPORTED",
        `the policy writes the number ${literal} without a leading digit; an OPA server cannot return such a module as JSON (it would break the server's policy API), so it was not uploaded. Write it as 0${literal}`,
      );
    }
    if (!this.uploaded.has(hash)) {
      const id = `/v1/policies/cryptotensors/${hash}`;
      await this.request("PUT", id, isolated.text, "text/plain", "ERR_POLICY_INVALID");
      // Defence in depth: OPA's own parser must agree that the module is in our package.
      await this.confirmPackage(id, pkg);
      this.uploaded.add(hash);
    }
    // Only `package model` defines data.model.allow; any other package leaves it undefined.
    if (!isolated.isModel) return undefined;
    const body = input === undefined ? "{}" : `{"input":${stringifyInput(input)}}`;
    const answer = (await this.request(
      "POST",
      `/v1/data/${pkg}/allow`,
      body,
      "application/json",
      "ERR_POLICY_EVAL",
    )) as {
      result?: unknown;
    };
    const result = answer.result;
    if (result === undefined || typeof result === "boolean") return result;
    throw new CryptoTensorsError(
      "ERR_POLICY_UNSUPPORTED",
      `policy rule data.model.allow returned ${Array.isArray(result) ? "an array" : typeof result}, not a boolean; make allow evaluate to true or false`,
    );
  }

  /** Reads back the uploaded module's package path; anything but `data.<pkg>` is deleted and refused. */
  private async confirmPackage(id: string, pkg: string): Promise<void> {
    const answer = (await this.request(
      "GET",
      id,
      undefined,
      "application/json",
      "ERR_POLICY_EVAL",
    )) as {
      result?: { ast?: { package?: { path?: Array<{ value?: unknown }> } } };
    };
    const path = answer.result?.ast?.package?.path ?? [];
    const ok = path.length === 2 && path[0]?.value === "data" && path[1]?.value === pkg;
    if (!ok) {
      await this.request("DELETE", id, undefined, "application/json", "ERR_POLICY_EVAL").catch(
        () => undefined,
      );
      throw new CryptoTensorsError(
        "ERR_POLICY_UNSUPPORTED",
        "the OPA server parsed the policy's package differently from the isolation; the policy was removed from the server and refused",
      );
    }
  }

  private async request(
    method: string,
    path: string,
    body: string | undefined,
    type: string,
    errorCode: "ERR_POLICY_INVALID" | "ERR_POLICY_EVAL",
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        body,
        headers: { ...this.headers, "content-type": type },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new CryptoTensorsError(
        "ERR_POLICY_SERVER",
        `cannot reach the OPA server at ${this.baseUrl} (${method} ${path}); check that it is running`,
        {
          cause: e,
        },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch (e) {
      throw new CryptoTensorsError(
        "ERR_POLICY_SERVER",
        `the OPA server answered ${res.status} with a non-JSON body`,
        { cause: e },
      );
    }
    if (res.ok) return parsed;
    const detail = messageOf(parsed as OpaErrorBody);
    if (res.status === 400 && errorCode === "ERR_POLICY_INVALID") {
      throw new CryptoTensorsError(
        "ERR_POLICY_INVALID",
        `the OPA server rejected the policy: ${detail}; fix the Rego text`,
      );
    }
    if (res.status === 500 && errorCode === "ERR_POLICY_EVAL") {
      throw new CryptoTensorsError(
        "ERR_POLICY_EVAL",
        `the OPA server failed to evaluate the policy: ${detail}`,
      );
    }
    throw new CryptoTensorsError(
      "ERR_POLICY_SERVER",
      `the OPA server answered ${res.status} to ${method} ${path}: ${detail}`,
    );
  }
}
