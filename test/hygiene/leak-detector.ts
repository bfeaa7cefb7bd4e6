// Every spelling of a secret that could end up in text: raw, hex (either case, Buffer-inspect
// style), base64, base64url, and the same for any 12-byte window of it (a partial dump leaks too).
import { inspect } from "node:util";

/** The spellings of `secret` that must never appear in a message, stack, inspect or JSON output. */
export function spellings(secret: Uint8Array): string[] {
  const bytes = Buffer.from(secret);
  const window = bytes.subarray(4, 16);
  const shifted = bytes.subarray(3, 15);
  return [
    ...[bytes, window].flatMap((b) => [
      b.toString("hex"),
      b.toString("hex").toUpperCase(),
      b.toString("base64"),
      b.toString("base64url"),
    ]),
    shifted.toString("base64"),
    shifted.toString("base64url"),
    window.toString("latin1"),
    [...window].map((b) => b.toString(16).padStart(2, "0")).join(" "),
    [...window].join(", "),
    [...window].join(","),
  ];
}

/** Every text a thrown value shows: message, stack, the cause chain, inspect (deep, hidden), JSON. */
export function renderings(thrown: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = thrown;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? "", String(current));
    }
    texts.push(inspect(current, { depth: Infinity, showHidden: true, getters: true }));
    texts.push(inspect(current, { depth: Infinity, customInspect: false, showHidden: true }));
    try {
      texts.push(JSON.stringify(current, Object.getOwnPropertyNames(current as object)) ?? "");
      texts.push(JSON.stringify(current) ?? "");
    } catch {
      // Cyclic: inspect above covers it.
    }
    current = (current as { cause?: unknown }).cause;
  }
  return texts;
}

/** Returns the first (secret index, spelling) found in `texts`, or null. */
export function findLeak(texts: readonly string[], secrets: readonly Uint8Array[]): string | null {
  for (const [index, secret] of secrets.entries()) {
    for (const spelling of spellings(secret)) {
      if (texts.some((text) => text.includes(spelling)))
        return `secret #${index} as ${JSON.stringify(spelling.slice(0, 24))}`;
    }
  }
  return null;
}
