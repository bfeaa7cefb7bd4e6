// cryptotensors decrypt IN OUT: writes a plain safetensors file, user metadata kept.
import { convertFile } from "../../index.js";
import { parse } from "../args.js";
import { readKeySet } from "../keys-file.js";
import { progressReporter } from "../progress.js";

export async function decrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { keys: { type: "string" }, quiet: { type: "boolean" } }, ["IN", "OUT"]);
  const [input, output] = positionals as [string, string];
  const keys = await readKeySet(values.keys as string | undefined);
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  await convertFile(input, output, { input: keys ? { keys } : {}, ...(onProgress ? { onProgress } : {}) });
  return 0;
}
