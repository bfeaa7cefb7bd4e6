// A strict, order-preserving JSON parser for safetensors headers (FORMAT.md §1.5 step 5, §4.4).
// JSON.parse keeps the last of two duplicate keys and turns big integers into lossy doubles;
// this parser keeps entries in header order, rejects duplicates and hands numbers back as text.
// It is iterative (an explicit stack), so hostile nesting cannot exhaust the JS call stack, and
// runs in one linear pass.
import { CryptoTensorsError } from "../errors.js";

/** A parsed JSON value; objects keep their entries in source order, numbers keep their text. */
export type JsonValue =
  | { type: "object"; entries: Array<[string, JsonValue]> }
  | { type: "array"; items: JsonValue[] }
  | { type: "string"; value: string }
  | { type: "number"; raw: string }
  | { type: "bool"; value: boolean }
  | { type: "null" };

/** Options of {@link parseJson}. */
export interface ParseJsonOptions {
  /** Deepest allowed nesting of arrays/objects (the top-level value counts as 1). Default 128. */
  maxDepth?: number;
  /**
   * Size limits checked while parsing, before memory is spent on the excess (a hostile header
   * must not cost more than a small multiple of its size): members of the top-level object, of
   * any nested object, items of any array, and values in the whole document. Exceeding one
   * throws `ERR_HEADER_LIMIT`. Default: none.
   */
  limits?: JsonLimits;
}

/** See {@link ParseJsonOptions.limits}; `what` names each limit in the error message. */
export interface JsonLimits {
  topLevelMembers: { max: number; what: string };
  nestedMembers: { max: number; what: string };
  arrayItems: { max: number; what: string };
  values: { max: number; what: string };
}

type ObjectFrame = {
  kind: "object";
  entries: Array<[string, JsonValue]>;
  /** Keys seen, once the object is past SMALL_OBJECT members (small ones are scanned: no Set each). */
  keys: Set<string> | null;
  key: string;
};
type ArrayFrame = { kind: "array"; items: JsonValue[] };
type Frame = ObjectFrame | ArrayFrame;

const DEFAULT_MAX_DEPTH = 128;
/** From just past an opening quote: up to and including the first quote not escaped by a backslash. */
const STRING_END = /(?<!\\)(?:\\\\)*"/g;
/** JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** Objects up to this many members check duplicate keys by a scan (tensor entries have three). */
const SMALL_OBJECT = 8;
const MAX_KEY_IN_MESSAGE = 120;

/**
 * Parses `text` as one JSON value (surrounded by optional JSON whitespace), strictly: no trailing
 * commas, comments, control characters in strings, lone-surrogate escapes or trailing garbage.
 * A repeated key in any object throws `ERR_HEADER_DUPLICATE_KEY` naming the key path; every other
 * failure throws `ERR_HEADER_DESERIALIZATION`.
 *
 * @example
 * ```ts
 * const v = parseJson('{"b":1,"a":[true,null]}');
 * // { type: "object", entries: [["b", { type: "number", raw: "1" }], ["a", { type: "array", … }]] }
 * parseJson('{"a":1,"a":2}'); // throws CryptoTensorsError ERR_HEADER_DUPLICATE_KEY
 * ```
 */
export function parseJson(text: string, options?: ParseJsonOptions): JsonValue {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`maxDepth must be a positive integer, got ${String(maxDepth)}`);
  }
  return new Parser(text, maxDepth, options?.limits).parseDocument();
}

class Parser {
  private pos = 0;
  private readonly stack: Frame[] = [];

  private values = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly limits: JsonLimits | undefined,
  ) {}

  private overLimit(limit: { max: number; what: string }): never {
    throw new CryptoTensorsError(
      "ERR_HEADER_LIMIT",
      `the header has more than ${limit.max} ${limit.what}; the file is hostile or not a model this library accepts`,
    );
  }

  parseDocument(): JsonValue {
    const root = this.parseValue();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.syntax("unexpected data after the JSON value");
    return root;
  }

  /** Parses one value; containers are handled by the loop below with an explicit frame stack. */
  private parseValue(): JsonValue {
    let value: JsonValue | undefined;
    for (;;) {
      if (value === undefined) {
        if (this.text.charCodeAt(this.pos) <= 0x20) this.skipWhitespace();
        value = this.openOrScalar();
        if (value === undefined) continue; // a container was opened and is not yet closed
      }
      const frame = this.stack[this.stack.length - 1];
      if (frame === undefined) return value;
      const limits = this.limits;
      if (limits !== undefined) {
        if (++this.values > limits.values.max) this.overLimit(limits.values);
        if (frame.kind === "array") {
          if (frame.items.length >= limits.arrayItems.max) this.overLimit(limits.arrayItems);
        } else {
          const cap = this.stack.length === 1 ? limits.topLevelMembers : limits.nestedMembers;
          if (frame.entries.length >= cap.max) this.overLimit(cap);
        }
      }
      if (frame.kind === "array") frame.items.push(value);
      else frame.entries.push([frame.key, value]);
      value = this.afterMember(frame);
    }
  }

  /**
   * Returns a scalar, or opens a container. An empty container is returned at once; otherwise its
   * frame is pushed and `undefined` says the next value is its first member.
   */
  private openOrScalar(): JsonValue | undefined {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (this.stack.length + 1 > this.maxDepth) {
        this.syntax(`nesting deeper than ${this.maxDepth} levels`);
      }
      this.pos++;
      if (this.text.charCodeAt(this.pos) <= 0x20) this.skipWhitespace();
      if (c === 0x5b) {
        if (this.text.charCodeAt(this.pos) === 0x5d) {
          this.pos++;
          return { type: "array", items: [] };
        }
        this.stack.push({ kind: "array", items: [] });
        return undefined;
      }
      if (this.text.charCodeAt(this.pos) === 0x7d) {
        this.pos++;
        return { type: "object", entries: [] };
      }
      const frame: ObjectFrame = { kind: "object", entries: [], keys: null, key: "" };
      this.stack.push(frame);
      this.readKey(frame);
      return undefined;
    }
    if (c === 0x22 /* " */) return { type: "string", value: this.readString() };
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39))
      return { type: "number", raw: this.readNumber() };
    if (this.text.startsWith("true", this.pos)) {
      this.pos += 4;
      return { type: "bool", value: true };
    }
    if (this.text.startsWith("false", this.pos)) {
      this.pos += 5;
      return { type: "bool", value: false };
    }
    if (this.text.startsWith("null", this.pos)) {
      this.pos += 4;
      return { type: "null" };
    }
    return this.syntax(
      this.pos >= this.text.length ? "unexpected end of the header" : "expected a JSON value",
    );
  }

  /**
   * After a member of `frame`: on `,` prepares the next member and returns undefined; on the
   * closing bracket pops the frame and returns the finished container.
   */
  private afterMember(frame: Frame): JsonValue | undefined {
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    if (c <= 0x20) {
      this.skipWhitespace();
      c = text.charCodeAt(this.pos);
    }
    if (c === 0x2c /* , */) {
      this.pos++;
      if (text.charCodeAt(this.pos) <= 0x20) this.skipWhitespace();
      if (frame.kind === "object") this.readKey(frame);
      return undefined;
    }
    if (frame.kind === "array" && c === 0x5d) {
      this.pos++;
      this.stack.pop();
      return { type: "array", items: frame.items };
    }
    if (frame.kind === "object" && c === 0x7d) {
      this.pos++;
      this.stack.pop();
      return { type: "object", entries: frame.entries };
    }
    return this.syntax(frame.kind === "array" ? "expected ',' or ']'" : "expected ',' or '}'");
  }

  /** Reads `"key" :` into the frame, rejecting a key the object already has. */
  private readKey(frame: ObjectFrame): void {
    if (this.text.charCodeAt(this.pos) !== 0x22) this.syntax("expected a string key");
    const key = this.readString();
    if (frame.keys === null && frame.entries.length >= SMALL_OBJECT) {
      frame.keys = new Set();
      for (const entry of frame.entries) frame.keys.add(entry[0]);
    }
    let repeated = false;
    if (frame.keys !== null) repeated = frame.keys.has(key);
    else {
      // An index loop here, not a helper: a header has thousands of small objects, and V8
      // compiles a small function called that often with its optimizing compiler (readString).
      const entries = frame.entries;
      for (let i = 0; i < entries.length; i++)
        if ((entries[i] as [string, JsonValue])[0] === key) repeated = true;
    }
    if (repeated) {
      frame.key = key;
      throw new CryptoTensorsError(
        "ERR_HEADER_DUPLICATE_KEY",
        `header JSON repeats the key ${this.keyPath()}; a key may appear only once per object, ` +
          "so the file is ambiguous — rewrite it with a conforming writer",
      );
    }
    frame.keys?.add(key);
    frame.key = key;
    if (this.text.charCodeAt(this.pos) <= 0x20) this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== 0x3a /* : */)
      this.syntax("expected ':' after an object key");
    this.pos++;
  }

  /**
   * A string token's value. The closing quote is found by the regular-expression engine and the
   * token decoded by JSON.parse (the same grammar: no control characters, the same escapes), so
   * that no JavaScript runs per character: V8's optimizing compiler then has far less of the
   * parser to compile during an open (its zone memory and code were part of the resident set of
   * every process that opens a model: issue 13, peak RSS, -1 to -2 MiB). Tokens with a `\u`
   * escape (lone surrogates: JSON.parse accepts them, this parser does not), a failure and an
   * unterminated string take the exact path below.
   */
  private readString(): string {
    const text = this.text;
    STRING_END.lastIndex = this.pos + 1;
    let end = -1;
    try {
      if (STRING_END.test(text)) end = STRING_END.lastIndex;
    } catch {
      // The engine's backtracking stack (a hostile run of backslashes): the exact path.
    }
    if (end > 0) {
      const token = text.slice(this.pos, end);
      if (token.indexOf("\\u") === -1) {
        try {
          const value = JSON.parse(token) as string;
          this.pos = end;
          return value;
        } catch {
          // Not a valid JSON string: the exact path reports where and why.
        }
      }
    }
    return this.readStringExactly();
  }

  private readStringExactly(): string {
    const text = this.text;
    let pos = this.pos + 1; // past the opening quote
    let out = "";
    let runStart = pos;
    for (;;) {
      if (pos >= text.length) {
        this.pos = pos;
        this.syntax("unterminated string");
      }
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(runStart, pos);
        this.pos = pos + 1;
        return out;
      }
      if (c < 0x20) {
        this.pos = pos;
        this.syntax("control character inside a string (it must be escaped)");
      }
      if (c !== 0x5c /* \ */) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      this.pos = pos;
      const esc = text.charCodeAt(pos + 1);
      pos += 2;
      switch (esc) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += "\\";
          break;
        case 0x2f:
          out += "/";
          break;
        case 0x62:
          out += "\b";
          break;
        case 0x66:
          out += "\f";
          break;
        case 0x6e:
          out += "\n";
          break;
        case 0x72:
          out += "\r";
          break;
        case 0x74:
          out += "\t";
          break;
        case 0x75: {
          const unit = this.hex4(pos);
          pos += 4;
          if (unit >= 0xdc00 && unit <= 0xdfff)
            this.syntax("lone trailing surrogate in a \\u escape");
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // serde_json accepts a high surrogate only when a low-surrogate escape follows.
            if (text.charCodeAt(pos) !== 0x5c || text.charCodeAt(pos + 1) !== 0x75) {
              this.syntax("lone leading surrogate in a \\u escape");
            }
            const low = this.hex4(pos + 2);
            if (low < 0xdc00 || low > 0xdfff) this.syntax("lone leading surrogate in a \\u escape");
            pos += 6;
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.syntax("invalid escape sequence in a string");
      }
      runStart = pos;
    }
  }

  private hex4(at: number): number {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(at + i);
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else {
        this.pos = at + i;
        return this.syntax("invalid \\u escape (four hex digits expected)");
      }
      value = value * 16 + digit;
    }
    return value;
  }

  /** JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private readNumber(): string {
    const text = this.text;
    const start = this.pos;
    // The regular-expression engine first (see readString); a number it stops short of (a '.' or
    // exponent without digits) takes the exact path, which says what is wrong.
    NUMBER.lastIndex = start;
    if (NUMBER.test(text)) {
      const end = NUMBER.lastIndex;
      const next = text.charCodeAt(end);
      if (next !== 0x2e && next !== 0x65 && next !== 0x45) {
        this.pos = end;
        return text.slice(start, end);
      }
    }
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const first = text.charCodeAt(pos);
    if (first === 0x30) pos++;
    else if (first >= 0x31 && first <= 0x39) pos = this.digits(pos);
    else this.syntaxAt(pos, "invalid number");
    if (text.charCodeAt(pos) === 0x2e) {
      const after = this.digits(pos + 1);
      if (after === pos + 1) this.syntaxAt(pos + 1, "invalid number (digits expected after '.')");
      pos = after;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      const after = this.digits(pos);
      if (after === pos) this.syntaxAt(pos, "invalid number (exponent digits expected)");
      pos = after;
    }
    this.pos = pos;
    return text.slice(start, pos);
  }

  private digits(from: number): number {
    let pos = from;
    for (;;) {
      const c = this.text.charCodeAt(pos);
      if (c < 0x30 || c > 0x39 || Number.isNaN(c)) return pos;
      pos++;
    }
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  /** The path of the key being read, e.g. `"weight" → "dtype"`, for error messages. */
  private keyPath(): string {
    const parts: string[] = [];
    for (const frame of this.stack) {
      if (frame.kind === "object") parts.push(quoteForMessage(frame.key));
      else parts.push(`[${frame.items.length}]`);
    }
    return parts.join(" → ");
  }

  private syntaxAt(pos: number, what: string): never {
    this.pos = pos;
    return this.syntax(what);
  }

  private syntax(what: string): never {
    throw new CryptoTensorsError(
      "ERR_HEADER_DESERIALIZATION",
      `header is not valid JSON: ${what} at character ${this.pos}; the file is corrupt or not a safetensors file`,
    );
  }
}

/**
 * Quotes a header key or tensor name for an error message, shortening hostile multi-megabyte keys.
 *
 * @example
 * ```ts
 * quoteForMessage("weight"); // '"weight"'
 * ```
 */
export function quoteForMessage(key: string): string {
  const shown = key.length > MAX_KEY_IN_MESSAGE ? `${key.slice(0, MAX_KEY_IN_MESSAGE)}…` : key;
  return JSON.stringify(shown);
}
