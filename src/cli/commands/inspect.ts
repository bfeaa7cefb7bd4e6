// cryptotensors inspect IN: tensors, dtypes, shapes, encryption and key ids, without any key.
import { inspectFile } from "../../index.js";
import { parse } from "../args.js";
import { inspectDirectory, isDirectory } from "../model-commands.js";

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } }, ["IN"]);
  if (await isDirectory(positionals[0] as string))
    return inspectDirectory(positionals[0] as string, values.json === true);
  const d = await inspectFile(positionals[0] as string);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `file: ${d.path}`,
    `encrypted: ${d.encryption ? "yes (header not verified; use verify)" : "no"}`,
  ];
  if (d.encryption) {
    const e = d.encryption;
    lines.push(
      `  version ${e.version}, ${e.algorithm}, chunk size ${e.chunkSize ?? "none (whole tensor)"}`,
    );
    lines.push(`  enc kid ${e.encKeyId ?? "-"}, sign kid ${e.signKeyId ?? "-"}`);
  }
  for (const [key, value] of Object.entries(d.metadata))
    lines.push(`metadata ${key} = ${JSON.stringify(value)}`);
  for (const t of d.tensors) {
    lines.push(
      `${t.name}\t${t.dtype}\t[${t.shape.join(", ")}]\t${t.byteLength} B${t.encrypted ? "\tencrypted" : ""}`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
