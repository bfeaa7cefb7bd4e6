// cryptotensors decrypt IN OUT: writes a plain safetensors file, user metadata kept.
import { convertFile, isRemoteUrl } from "../../index.js";
import { parse } from "../args.js";
import {
  bindingOptionsFrom,
  decryptDirectory,
  isDirectory,
  MODEL_OPTIONS,
} from "../model-commands.js";
import { interruptible } from "../interrupt.js";
import { progressReporter } from "../progress.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

export async function decrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...TRUST_OPTIONS,
      ...MODEL_OPTIONS,
      quiet: { type: "boolean" },
      "allow-plain": { type: "boolean" },
      "allow-unauthenticated": { type: "boolean" },
    },
    ["IN", "OUT"],
  );
  const [input, output] = positionals as [string, string];
  // Fail closed: a plain input (stripped or substituted) would be "decrypted" into a copy of
  // itself, and plaintext tensors without a signed digest could have been changed by anyone.
  const strict = {
    requireEncrypted: values["allow-plain"] !== true,
    requireAuthenticated: values["allow-unauthenticated"] !== true,
  };
  if (!isRemoteUrl(input) && (await isDirectory(input))) {
    const options = {
      ...(await openOptionsFrom(values)),
      ...strict,
      ...bindingOptionsFrom(values),
    };
    return decryptDirectory(input, output, options, values.quiet === true);
  }
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  const inputOptions = { ...(await openOptionsFrom(values)), ...strict };
  await interruptible((signal) =>
    convertFile(input, output, {
      input: inputOptions,
      signal,
      ...(onProgress ? { onProgress } : {}),
    }),
  );
  return 0;
}
