// cryptotensors verify IN: exit 0 only when the signature and the policy hold.
import { CryptoTensorsError, verifyFile } from "../../index.js";
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
    {
      ...TRUST_OPTIONS,
      ...MODEL_OPTIONS,
      "allow-unauthenticated": { type: "boolean" },
      json: { type: "boolean" },
    },
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
  const path = positionals[0] as string;
  let result: Awaited<ReturnType<typeof verifyFile>>;
  try {
    result = await verifyFile(path, { ...(await openOptionsFrom(values)), ...strict });
  } catch (error) {
    // --json reports the failure on stdout too; the error still goes to stderr with exit 1.
    if (values.json && error instanceof CryptoTensorsError) {
      const failure = { path, valid: false, code: error.code, message: error.message };
      process.stdout.write(`${JSON.stringify(failure)}\n`);
    }
    throw error;
  }
  // Failures throw (exit 1, reason on stderr), so a printed result is always a success.
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ path, valid: true, ...result })}\n`
      : `${positionals[0]}: signature valid, policy allows\n`,
  );
  return 0;
}
