// cryptotensors verify IN: exit 0 only when the signature and the policy hold.
import { verifyFile } from "../../index.js";
import { parse } from "../args.js";
import {
  bindingOptionsFrom,
  isDirectory,
  MODEL_OPTIONS,
  verifyDirectory,
} from "../model-commands.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...TRUST_OPTIONS, ...MODEL_OPTIONS, "allow-unauthenticated": { type: "boolean" } },
    ["IN"],
  );
  // Fail closed: plaintext tensors not covered by a signed digest are refused unless allowed.
  const strict = { requireAuthenticated: values["allow-unauthenticated"] !== true };
  if (await isDirectory(positionals[0] as string)) {
    const options = {
      ...(await openOptionsFrom(values)),
      ...strict,
      ...bindingOptionsFrom(values),
    };
    return verifyDirectory(positionals[0] as string, options);
  }
  await verifyFile(positionals[0] as string, { ...(await openOptionsFrom(values)), ...strict });
  process.stdout.write(`${positionals[0]}: signature valid, policy allows\n`);
  return 0;
}
