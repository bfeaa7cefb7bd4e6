// cryptotensors decrypt IN OUT: writes a plain safetensors file, user metadata kept.
import { convertFile } from "../../index.js";
import { parse } from "../args.js";
import { progressReporter } from "../progress.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

export async function decrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...TRUST_OPTIONS, quiet: { type: "boolean" } }, [
    "IN",
    "OUT",
  ]);
  const [input, output] = positionals as [string, string];
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  await convertFile(input, output, {
    input: await openOptionsFrom(values),
    ...(onProgress ? { onProgress } : {}),
  });
  return 0;
}
