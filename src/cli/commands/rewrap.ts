// cryptotensors rewrap IN OUT: key rotation — re-wraps the data keys under the new master key and
// re-signs with the new signing key; the tensor data is not touched. OUT may equal IN (in place).
// `cryptotensors rewrap --recover IN [--keys NEW_JWKS | --verify-keys NEW_PUBLIC]` finishes or
// rolls back an interrupted in-place rewrap whose journal is signed by the new signing key.
import { CryptoTensorsError, recoverRewrap, rewrapFile } from "../../index.js";
import { parse, UsageError } from "../args.js";
import {
  bindingOptionsFrom,
  isDirectory,
  MODEL_OPTIONS,
  rewrapDirectory,
} from "../model-commands.js";
import { readKeySet } from "../keys-file.js";
import { readPolicyFile } from "../policy-file.js";
import { openOptionsFrom, TRUST_OPTIONS } from "../trust-options.js";

const OPTIONS = {
  keys: { type: "string" },
  "new-keys": { type: "string" },
  "enc-kid": { type: "string" },
  "sign-kid": { type: "string" },
  policy: { type: "string" },
  "jku-root": { type: "string", multiple: true },
  "verify-keys": { type: "string" },
  recover: { type: "boolean" },
} as const;

export async function rewrap(argv: string[]): Promise<number> {
  if (argv.includes("--recover")) {
    // The journal must be signed by the new header's signing key: found with --keys (the new
    // key set), --verify-keys or CRYPTOTENSOR_KEYS, as for verify.
    const { values, positionals } = parse(
      argv,
      { recover: { type: "boolean" }, ...TRUST_OPTIONS },
      ["IN"],
    );
    const outcome = await recoverRewrap(positionals[0] as string, await openOptionsFrom(values));
    process.stdout.write(
      `${positionals[0]}: ${outcome === "none" ? "no interrupted rewrap" : outcome}\n`,
    );
    return 0;
  }
  const { values, positionals } = parse(argv, { ...OPTIONS, ...MODEL_OPTIONS }, ["IN", "OUT"]);
  const [input, output] = positionals as [string, string];
  const newKeysPath = values["new-keys"] as string | undefined;
  if (newKeysPath === undefined && values.policy === undefined)
    throw new UsageError("rewrap needs --new-keys NEW_JWKS (and/or --policy FILE)");
  const oldKeys = await readKeySet(values.keys as string | undefined);
  const verifyKeys = await readKeySet(values["verify-keys"] as string | undefined);
  const newKeys = await readKeySet(newKeysPath);
  const encKid = values["enc-kid"] as string | undefined;
  const signKid = values["sign-kid"] as string | undefined;
  const newEncKey = newKeys?.findMaster(encKid);
  const newSignKey = newKeys?.findSigner(signKid);
  if (encKid !== undefined && !newEncKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the new key set has no symmetric key with kid ${JSON.stringify(encKid)}`,
    );
  if (signKid !== undefined && !newSignKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `the new key set has no Ed25519 private key with kid ${JSON.stringify(signKid)}`,
    );
  if (newKeys && !newEncKey && !newSignKey) {
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      "the new key set holds neither a symmetric key nor an Ed25519 private key",
    );
  }
  const policy =
    values.policy === undefined ? undefined : await readPolicyFile(values.policy as string);
  const options = {
    ...(oldKeys ? { oldKeys } : {}),
    ...(newEncKey ? { newEncKey } : {}),
    ...(newSignKey ? { newSignKey } : {}),
    ...(policy ? { policy } : {}),
    ...(values["jku-root"] ? { jkuRoots: values["jku-root"] as string[] } : {}),
    ...(verifyKeys ? { verifyKeys } : {}),
  };
  if (await isDirectory(input))
    return rewrapDirectory(input, output, { ...options, ...bindingOptionsFrom(values) });
  const result = await rewrapFile(input, { ...options, output });
  process.stdout.write(
    `${input} -> ${result.output}: ${result.rewrapped} data key(s) re-wrapped, header re-signed ` +
      `(${result.method}, header ${result.previousHeaderLength} -> ${result.headerLength} bytes)\n`,
  );
  return 0;
}
