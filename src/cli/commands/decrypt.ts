// cryptotensors decrypt IN OUT: writes a plain safetensors file, user metadata kept.
import { readFile } from "node:fs/promises";
import { convertFile, registerKeyProvider, RemoteKeyProvider } from "../../index.js";
import { parse, UsageError } from "../args.js";
import {
  bindingOptionsFrom,
  decryptDirectory,
  isModelTarget,
  MODEL_OPTIONS,
} from "../model-commands.js";
import { interruptible } from "../interrupt.js";
import { progressReporter } from "../progress.js";
import { openOptionsFrom, REMOTE_OPTIONS, TRUST_OPTIONS } from "../trust-options.js";

export async function decrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...TRUST_OPTIONS,
      ...REMOTE_OPTIONS,
      ...MODEL_OPTIONS,
      quiet: { type: "boolean" },
      "allow-plain": { type: "boolean" },
      "allow-unauthenticated": { type: "boolean" },
      "key-server": { type: "string" },
      licence: { type: "string" },
      tensor: { type: "string", multiple: true },
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
  if (await isModelTarget(input)) {
    const options = {
      ...(await openOptionsFrom(values)),
      ...strict,
      ...bindingOptionsFrom(values),
    };
    return decryptDirectory(input, output, options, values.quiet === true);
  }
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  await keyServerFrom(values);
  const tensors = values.tensor as string[] | undefined;
  const inputOptions = {
    ...(await openOptionsFrom(values)),
    ...strict,
    ...(tensors === undefined ? {} : { tensors }),
  };
  await interruptible((signal) =>
    convertFile(input, output, {
      input: inputOptions,
      signal,
      ...(onProgress ? { onProgress } : {}),
    }),
  );
  return 0;
}

/** `--key-server URL --licence FILE`: data keys are released by the publisher's key server. */
async function keyServerFrom(values: Record<string, unknown>): Promise<void> {
  const url = values["key-server"] as string | undefined;
  const licenceFile = values.licence as string | undefined;
  if (url === undefined && licenceFile === undefined) return;
  if (url === undefined || licenceFile === undefined)
    throw new UsageError("--key-server URL and --licence FILE go together");
  const licence = (await readFile(licenceFile, "utf8")).trim();
  registerKeyProvider(new RemoteKeyProvider({ url, licence }));
}
