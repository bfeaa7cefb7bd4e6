// Argument parsing for the CLI, on node:util parseArgs. Mistakes become a short UsageError (exit
// status 2) that names the bad argument and, for a misspelt option, the closest real one.
import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word` when it is close enough to be a plausible typo (at most a
 * third of its length, and at most 3 edits); otherwise undefined.
 *
 * @example
 * ```ts
 * closest("kyes", ["keys", "json"]); // "keys"
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return bestDistance <= limit ? best : undefined;
}

function didYouMean(word: string, candidates: readonly string[], prefix = ""): string {
  const match = closest(word, candidates);
  return match === undefined ? "" : ` (did you mean ${prefix}${match}?)`;
}

/** parseArgs' error as one short sentence about the argument at fault. */
function describeParseError(error: Error & { code?: string }, options: Options): string {
  const names = Object.keys(options);
  const quoted = /'(-[^' ]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const given = quoted ?? "option";
      return `unknown option ${given}${didYouMean(given.replace(/^-+/, ""), names, "--")}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const option = quoted ?? "option";
      return /argument missing/.test(error.message)
        ? `option ${option} needs a value`
        : `option ${option} does not take a value`;
    }
    default:
      return error.message;
  }
}

/**
 * Parses `argv` against `options` and exactly the `positionals` named (e.g. `["IN", "OUT"]`).
 * `-` is refused as a positional: every IN/OUT of these commands is a file (an encrypted file is
 * written atomically and read with mmap, neither of which a pipe allows).
 *
 * @example
 * ```ts
 * const { values, positionals } = parse(argv, { json: { type: "boolean" } }, ["IN"]);
 * ```
 */
export function parse(argv: string[], options: Options, positionals: string[]) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error as Error, options));
  }
  if (parsed.positionals.length !== positionals.length) {
    const expected = positionals.length ? positionals.join(" ") : "no file arguments";
    const got = parsed.positionals.length;
    throw new UsageError(`expected ${expected}, got ${got} argument${got === 1 ? "" : "s"}`);
  }
  parsed.positionals.forEach((value, index) => {
    if (value === "-") {
      throw new UsageError(
        `"-" (standard input/output) is not supported for ${positionals[index]}: give a file path`,
      );
    }
  });
  return {
    values: parsed.values as Record<string, string | boolean | string[] | undefined>,
    positionals: parsed.positionals,
  };
}
