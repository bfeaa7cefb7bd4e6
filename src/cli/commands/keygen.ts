// cryptotensors keygen: prints a fresh JWK set {"keys":[encKey, signKey]} in the reference's form.
import { generateKeySet } from "../../index.js";
import { parse, UsageError } from "../args.js";

const ALGORITHMS = ["aes256gcm", "aes128gcm", "chacha20poly1305"] as const;

export async function keygen(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { alg: { type: "string" }, "enc-kid": { type: "string" }, "sign-kid": { type: "string" } },
    [],
  );
  const alg = (values.alg as string | undefined) ?? "aes256gcm";
  if (!(ALGORITHMS as readonly string[]).includes(alg))
    throw new UsageError(`--alg must be one of ${ALGORITHMS.join(", ")}`);
  const set = generateKeySet({
    alg: alg as (typeof ALGORITHMS)[number],
    ...(values["enc-kid"] === undefined ? {} : { encKid: values["enc-kid"] as string }),
    ...(values["sign-kid"] === undefined ? {} : { signKid: values["sign-kid"] as string }),
  });
  process.stdout.write(`${JSON.stringify(set, null, 2)}\n`);
  return 0;
}
