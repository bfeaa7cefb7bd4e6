// cryptotensors decrypt IN OUT: writes a plain safetensors file, user metadata kept.
import { convertFile } from "../../index.js";
import { parse } from "../args.js";
import {
  bindingOptionsFrom,
  decryptDirectory,
  isDirectory,
  MODEL_OPTIONS,
} from "../model-commands.js";
import { progressReporter } from "../progress.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

export async function decrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...TRUST_OPTIONS, ...MODEL_OPTIONS, quiet: { type: "boolean" } },
    ["IN", "OUT"],
  );
  const [input, output] = positionals as [string, string];
  if (await isDirectory(input)) {
    const options = { ...(await openOptionsFrom(values)), ...bindingOptionsFrom(values) };
    return decryptDirectory(input, output, options, values.quiet === true);
  }
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  await convertFile(input, output, {
    input: await openOptionsFrom(values),
    ...(onProgress ? { onProgress } : {}),
  });
  return 0;
}
