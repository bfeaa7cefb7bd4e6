// cryptotensors decrypt-onnx IN_DIR OUT_DIR: an encrypted ONNX model back to a plain one (debugging).
import { parse } from "../args.js";
import { progressReporter } from "../progress.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

export async function decryptOnnxCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...TRUST_OPTIONS, quiet: { type: "boolean" } }, [
    "IN_DIR",
    "OUT_DIR",
  ]);
  const [input, outDir] = positionals as [string, string];
  // Loaded on use: the other commands need not load the ONNX schema.
  const { decryptOnnx } = await import("../../onnxruntime/index.js");
  const onProgress = values.quiet ? undefined : progressReporter("decrypting");
  const result = await decryptOnnx(input, outDir, {
    ...(await openOptionsFrom(values)),
    ...(onProgress ? { onProgress } : {}),
  });
  if (!values.quiet) {
    process.stderr.write(
      `decrypt-onnx: ${result.graphPath}${result.dataPath ? ` + ${result.dataPath}` : ""}\n`,
    );
  }
  return 0;
}
