// cryptotensors inspect IN: tensors, dtypes, shapes, encryption and key ids, without any key.
import { inspectFile } from "../../index.js";
import { parse } from "../args.js";
import { inspectDirectory, isDirectory } from "../model-commands.js";
import { terminalSafe, terminalSafeJson } from "../terminal-text.js";

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } }, ["IN"]);
  if (await isDirectory(positionals[0] as string))
    return inspectDirectory(positionals[0] as string, values.json === true);
  const d = await inspectFile(positionals[0] as string);
  if (values.json) {
    process.stdout.write(`${terminalSafeJson(JSON.stringify(d, null, 2))}\n`);
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
