// cryptotensors verify IN: exit 0 only when the signature and the policy hold.
import { verifyFile } from "../../index.js";
import { parse } from "../args.js";
import { readKeySet } from "../keys-file.js";

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { keys: { type: "string" } }, ["IN"]);
  const keys = await readKeySet(values.keys as string | undefined);
  await verifyFile(positionals[0] as string, keys ? { keys } : {});
  process.stdout.write(`${positionals[0]}: signature valid, policy allows\n`);
  return 0;
}
