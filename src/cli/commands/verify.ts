// cryptotensors verify IN: exit 0 only when the signature and the policy hold.
import { CryptoTensorsError, type DataCheck, NotSupportedError, verifyFile } from "../../index.js";
import { parse } from "../args.js";
import {
  bindingOptionsFrom,
  isModelTarget,
  MODEL_OPTIONS,
  verifyDirectory,
} from "../model-commands.js";
import { interruptible } from "../interrupt.js";
import { terminalSafe } from "../terminal-text.js";
import { openOptionsFrom, REMOTE_OPTIONS, TRUST_OPTIONS } from "../trust-options.js";

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...TRUST_OPTIONS,
      ...REMOTE_OPTIONS,
      ...MODEL_OPTIONS,
      "allow-unauthenticated": { type: "boolean" },
      json: { type: "boolean" },
      data: { type: "boolean" },
    },
    ["IN"],
  );
  // Fail closed: plaintext tensors not covered by a signed digest are refused unless allowed.
  const strict = { requireAuthenticated: values["allow-unauthenticated"] !== true };
  if (await isModelTarget(positionals[0] as string)) {
    if (values.data === true)
      throw new NotSupportedError(
        "verify --data is not supported for model directories yet; run it on each shard file",
      );
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
    const open = { ...(await openOptionsFrom(values)), ...strict };
    // --data also authenticates every tensor with the master key; no plaintext is written.
    result = await (values.data === true
      ? interruptible((signal) => verifyFile(path, { ...open, data: true, signal }))
      : verifyFile(path, open));
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
      : `${terminalSafe(path)}: signature valid, policy allows${dataSummary(result.data)}\n`,
  );
  return 0;
}

function dataSummary(data: DataCheck | undefined): string {
  if (data === undefined) return "";
  const bare = data.unauthenticated.length;
  return `, data authenticated (${data.tensorsAuthenticated} tensor(s), ${data.bytesChecked} B)${bare > 0 ? `; ${bare} plaintext tensor(s) NOT authenticated (allowed by --allow-unauthenticated)` : ""}`;
}
