// Untrusted text (tensor names, metadata, key ids from a file nobody has verified yet) is printed
// with every character that can move the cursor, start a new line or drive the terminal (C0 and
// C1 controls, DEL, line/paragraph separators, bidi overrides) escaped, so a hostile file can
// neither fake lines such as "encrypted: yes (signature OK)" nor send ANSI/OSC sequences.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

function escapeOne(ch: string): string {
  if (ch === "\\") return "\\\\";
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` safe to print on one terminal line: controls and separators as `\xNN` / `\uNNNN`,
 * backslashes doubled (so an escape cannot be forged either).
 *
 * @example
 * ```ts
 * terminalSafe("w\u001b]0;pwned\u0007"); // "w\\x1b]0;pwned\\x07"
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/**
 * JSON text with the characters JSON.stringify leaves raw but terminals act on (DEL, C1
 * controls, U+2028/U+2029, bidi overrides) escaped as `\uNNNN`; still valid, equal JSON.
 *
 * @example
 * ```ts
 * process.stdout.write(`${terminalSafeJson(JSON.stringify(value, null, 2))}\n`);
 * ```
 */
export function terminalSafeJson(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
