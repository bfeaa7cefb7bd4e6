// cryptotensors encrypt-onnx MODEL.onnx OUT_DIR: the graph plus one encrypted, signed weights file
// that createInferenceSession (cryptotensors/onnxruntime) loads.
import { parse } from "../args.js";
import { ENCRYPTION_ARGS, encryptionFromArgs } from "../encryption-args.js";
import { progressReporter } from "../progress.js";

export async function encryptOnnxCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...ENCRYPTION_ARGS, quiet: { type: "boolean" } }, [
    "MODEL",
    "OUT_DIR",
  ]);
  const [model, outDir] = positionals as [string, string];
  const encryption = await encryptionFromArgs(values);
  // Loaded on use: the other commands need not load the ONNX schema.
  const { encryptOnnx } = await import("../../onnxruntime/index.js");
  const onProgress = values.quiet ? undefined : progressReporter("encrypting");
  const result = await encryptOnnx(model, outDir, {
    encryption,
    ...(onProgress ? { onProgress } : {}),
  });
  if (!values.quiet) {
    process.stderr.write(
      `encrypt-onnx: ${result.tensors} weights (${result.bytes} bytes) → ${result.weightsPath}; graph → ${result.graphPath}\n`,
    );
  }
  return 0;
}
