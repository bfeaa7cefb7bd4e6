// cryptotensors inspect IN: tensors, dtypes, shapes, encryption and key ids, without any key.
import { type FileDescription, inspectFile } from "../../index.js";
import { parse } from "../args.js";
import { inspectDirectory, isModelTarget } from "../model-commands.js";
import { terminalSafe, terminalSafeJson } from "../terminal-text.js";
import { REMOTE_OPTIONS, remoteOptionsFrom } from "../trust-options.js";

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" }, ...REMOTE_OPTIONS }, [
    "IN",
  ]);
  const input = positionals[0] as string;
  if (await isModelTarget(input))
    return inspectDirectory(input, values.json === true, remoteOptionsFrom(values));
  const d = await inspectFile(input, remoteOptionsFrom(values));
  if (values.json) {
    const summary = { ...d, ...sizes(d) };
    process.stdout.write(`${terminalSafeJson(JSON.stringify(summary, null, 2))}\n`);
    return 0;
  }
  // Every string below comes from an unverified header: escaped, one line each.
  const t = terminalSafe;
  const lines = [
    `file: ${t(d.path)}`,
    `encrypted: ${d.encryption ? "yes (header not verified; use verify)" : "no"}`,
  ];
  if (d.encryption) {
    const e = d.encryption;
    lines.push(
      `  version ${e.version}, ${t(e.algorithm)}, chunk size ${e.chunkSize ?? "none (whole tensor)"}`,
    );
    lines.push(`  enc kid ${t(e.encKeyId ?? "-")}, sign kid ${t(e.signKeyId ?? "-")}`);
  }
  for (const [key, value] of Object.entries(d.metadata))
    lines.push(`metadata ${t(key)} = ${t(JSON.stringify(value))}`);
  for (const tensor of d.tensors) {
    lines.push(
      `${t(tensor.name)}\t${tensor.dtype}\t[${tensor.shape.join(", ")}]\t${tensor.byteLength} B${tensor.encrypted ? "\tencrypted" : ""}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** File, header and data sizes and totals for `--json` (safetensors: the data ends the file). */
function sizes(d: FileDescription) {
  const { fileSize } = d;
  const dataSize = d.tensors.reduce((end, t) => Math.max(end, t.dataOffsets[1]), 0);
  const encrypted = d.tensors.filter((t) => t.encrypted);
  return {
    fileSize,
    /** The 8-byte length prefix plus the JSON header (and its padding). */
    headerSize: fileSize - dataSize,
    dataSize,
    totals: {
      tensors: d.tensors.length,
      elements: d.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
      bytes: d.tensors.reduce((n, t) => n + t.byteLength, 0),
      encryptedTensors: encrypted.length,
      encryptedBytes: encrypted.reduce((n, t) => n + t.byteLength, 0),
    },
  };
}
