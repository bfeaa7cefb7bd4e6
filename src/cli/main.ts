#!/usr/bin/env node
// The cryptotensors command line: each command is built only on the public API.
// The error class straight from its module (the one index.ts re-exports): `--version` and
// `--help` then load nothing else of the package.
import { CryptoTensorsError } from "../errors.js";
import { readFileSync } from "node:fs";
import { closest, UsageError } from "./args.js";
import { terminalSafe } from "./terminal-text.js";
import { COMMAND_HELP, commandHelp, overview } from "./help.js";

type Command = (argv: string[]) => Promise<number>;

// Each command's module is imported when that command runs, not on every start: `--version`,
// `--help` and a usage error load none of them, and a command loads only its own (issue 13:
// resident memory and start-up of a fresh process).
const COMMANDS: Record<string, () => Promise<Command>> = {
  keygen: async () => (await import("./commands/keygen.js")).keygen,
  encrypt: async () => (await import("./commands/encrypt.js")).encrypt,
  decrypt: async () => (await import("./commands/decrypt.js")).decrypt,
  verify: async () => (await import("./commands/verify.js")).verify,
  inspect: async () => (await import("./commands/inspect.js")).inspect,
  rewrap: async () => (await import("./commands/rewrap.js")).rewrap,
  licence: async () => (await import("./commands/licence.js")).licence,
  "key-server": async () => (await import("./commands/key-server.js")).keyServer,
  "encrypt-onnx": async () => (await import("./commands/encrypt-onnx.js")).encryptOnnxCommand,
  "decrypt-onnx": async () => (await import("./commands/decrypt-onnx.js")).decryptOnnxCommand,
};

/** The package's version, from the package.json two levels above dist/cli/. */
function version(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** `--help`/`-h` anywhere before a `--` asks for help. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

function usageError(prefix: string, message: string, usage: string, helpCommand: string): number {
  process.stderr.write(
    `${prefix}: ${terminalSafe(message)}\nusage: ${usage}\nRun "${helpCommand}" for more.\n`,
  );
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${overview()}\n`);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined && COMMAND_HELP[topic]) {
      process.stdout.write(`${commandHelp(topic)}\n`);
    } else {
      process.stdout.write(`${overview()}\n`);
    }
    return 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const loadCommand = COMMANDS[name];
  if (!loadCommand) {
    const guess = closest(name.replace(/^-+/, ""), Object.keys(COMMANDS));
    const hint = guess === undefined ? "" : ` (did you mean ${guess}?)`;
    const what = name.startsWith("-") ? "option" : "command";
    return usageError(
      "cryptotensors",
      `unknown ${what} ${JSON.stringify(name)}${hint}`,
      "cryptotensors COMMAND [ARGS]",
      "cryptotensors --help",
    );
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${commandHelp(name)}\n`);
    return 0;
  }
  try {
    const command = await loadCommand();
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      return usageError(
        `cryptotensors ${name}`,
        error.message,
        COMMAND_HELP[name]!.usage,
        `cryptotensors ${name} --help`,
      );
    }
    if (
      error instanceof CryptoTensorsError ||
      error instanceof TypeError ||
      error instanceof RangeError
    ) {
      const code = error instanceof CryptoTensorsError ? `${error.code}: ` : "";
      // Messages quote names from untrusted files: never let them drive the terminal.
      process.stderr.write(`cryptotensors ${name}: ${code}${terminalSafe(error.message)}\n`);
      return 1;
    }
    process.stderr.write(
      `cryptotensors ${name}: unexpected error: ${(error as Error)?.message ?? String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
