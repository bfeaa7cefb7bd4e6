/**
 * Tokenizer for the Rego subset. Newlines matter in Rego (they separate body expressions), so
 * every token records whether a newline preceded it.
 */
import { CryptoTensorsError } from "../errors.js";

export type TokenType = "ident" | "string" | "number" | "op" | "eof";

export interface Token {
  type: TokenType;
  text: string;
  /** Decoded value of string tokens. */
  str?: string;
  line: number;
  col: number;
  /** A newline separates this token from the previous one. */
  nl: boolean;
}

const OPERATORS = [
  ":=",
  "==",
  "!=",
  "<=",
  ">=",
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
  "=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "|",
  "&",
];

/**
 * Raises ERR_POLICY_INVALID at a position.
 *
 * @example
 * ```ts
 * syntaxError("expected \"}\"", 3, 1); // throws ERR_POLICY_INVALID
 * ```
 */
export function syntaxError(message: string, line: number, col: number): never {
  throw new CryptoTensorsError(
    "ERR_POLICY_INVALID",
    `policy parse error at ${line}:${col}: ${message}; fix the Rego text`,
  );
}

/**
 * Splits Rego source into tokens.
 *
 * @example
 * ```ts
 * tokenize("package model\nallow := true").map((t) => t.text); // ["package","model","allow",":=","true",""]
 * ```
 */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let nl = true;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      nl = true;
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    const col = i - lineStart + 1;
    const push = (type: TokenType, text: string, str?: string): void => {
      tokens.push({ type, text, line, col, nl, ...(str === undefined ? {} : { str }) });
      nl = false;
    };
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      push("ident", src.slice(i, j));
      i = j;
      continue;
    }
    // OPA's scanner also reads a number that starts with its fraction (`.5`).
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^(?:0|[1-9][0-9]*|(?=\.))(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(
        src.slice(i, i + 400),
      );
      if (m === null || /[A-Za-z0-9_.]/.test(src[i + m[0].length] ?? ""))
        syntaxError("malformed number", line, col);
      push("number", m[0]);
      i += m[0].length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === "\n") syntaxError("unterminated string", line, col);
        j += src[j] === "\\" ? 2 : 1;
      }
      if (j >= src.length) syntaxError("unterminated string", line, col);
      const text = src.slice(i, j + 1);
      let str: string;
      try {
        str = JSON.parse(text) as string;
      } catch {
        syntaxError("invalid escape in string", line, col);
      }
      push("string", text, str);
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) syntaxError("unterminated raw string", line, col);
      const raw = src.slice(i + 1, j);
      push("string", src.slice(i, j + 1), raw);
      for (const ch of raw) if (ch === "\n") line++;
      if (raw.includes("\n")) lineStart = i + 1 + raw.lastIndexOf("\n") + 1;
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) syntaxError(`unexpected character ${JSON.stringify(c)}`, line, col);
    push("op", op);
    i += op.length;
  }
  tokens.push({ type: "eof", text: "", line, col: i - lineStart + 1, nl: true });
  return tokens;
}
