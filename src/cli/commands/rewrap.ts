// cryptotensors rewrap IN OUT: key rotation — re-wraps the data keys under the new master key and
// re-signs with the new signing key; the tensor data is not touched. OUT may equal IN (in place).
// `cryptotensors rewrap --recover IN [--keys NEW_JWKS | --verify-keys NEW_PUBLIC]` finishes or
// rolls back an interrupted in-place rewrap whose journal is signed by the new signing key.
// `--reencrypt` draws fresh data keys and IVs and re-encrypts the data (revocation).
import {
  CryptoTensorsError,
  NotSupportedError,
  recoverRewrap,
  reencryptFile,
  reencryptModel,
  type ReencryptOptions,
  rewrapFile,
} from "../../index.js";
import { parse, UsageError } from "../args.js";
import {
  bindingOptionsFrom,
  isDirectory,
  MODEL_OPTIONS,
  rewrapDirectory,
} from "../model-commands.js";
import {
  closeProviders,
  heldMasterKey,
  heldSigningKey,
  KEY_PROVIDER_OPTION,
  keyProvidersFrom,
} from "../key-providers.js";
import { readKeySet } from "../keys-file.js";
import { progressReporter } from "../progress.js";
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
  reencrypt: { type: "boolean" },
  alg: { type: "string" },
  quiet: { type: "boolean" },
  ...KEY_PROVIDER_OPTION,
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
  const providers = await keyProvidersFrom(values);
  try {
    return await rewrapWith(values, input, output, providers);
  } finally {
    closeProviders(providers);
  }
}

async function rewrapWith(
  values: Record<string, unknown>,
  input: string,
  output: string,
  providers: Awaited<ReturnType<typeof keyProvidersFrom>>,
): Promise<number> {
  const newKeysPath = values["new-keys"] as string | undefined;
  const held = newKeysPath === undefined && providers.length > 0;
  if (newKeysPath === undefined && values.policy === undefined && !held)
    throw new UsageError(
      "rewrap needs --new-keys NEW_JWKS, or --key-provider URI with --enc-kid/--sign-kid (and/or --policy FILE)",
    );
  const oldKeys = await readKeySet(values.keys as string | undefined);
  const verifyKeys = await readKeySet(values["verify-keys"] as string | undefined);
  const newKeys = await readKeySet(newKeysPath);
  const encKid = values["enc-kid"] as string | undefined;
  const signKid = values["sign-kid"] as string | undefined;
  // New keys from --new-keys, else (with --key-provider) the token's keys of those labels.
  const newEncKey = held
    ? heldMasterKey(providers, encKid, (values.alg as string | undefined) ?? "aes256gcm")
    : newKeys?.findMaster(encKid);
  const newSignKey = held ? heldSigningKey(providers, signKid) : newKeys?.findSigner(signKid);
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
  if ((newKeys || held) && !newEncKey && !newSignKey && values.policy === undefined) {
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
  if (values.reencrypt) return reencrypt(input, output, options, values);
  if (held && (newEncKey || newSignKey)) {
    throw new NotSupportedError(
      "rewrap under keys held by a key provider needs --reencrypt (fresh data keys, sealed by the token)",
    );
  }
  if (await isDirectory(input))
    return rewrapDirectory(input, output, { ...options, ...bindingOptionsFrom(values) });
  const result = await rewrapFile(input, { ...options, output });
  process.stdout.write(
    `${input} -> ${result.output}: ${result.rewrapped} data key(s) re-wrapped, header re-signed ` +
      `(${result.method}, header ${result.previousHeaderLength} -> ${result.headerLength} bytes)\n`,
  );
  return 0;
}

/** `--reencrypt`: fresh data keys and IVs, data streamed through; the old master key opens nothing. */
async function reencrypt(
  input: string,
  output: string,
  options: Omit<ReencryptOptions, "newEncKey"> & { newEncKey?: ReencryptOptions["newEncKey"] },
  values: Record<string, unknown>,
): Promise<number> {
  if (options.newEncKey === undefined) {
    throw new UsageError(
      "rewrap --reencrypt needs a new master key: --new-keys NEW_JWKS, or --key-provider URI --enc-kid LABEL",
    );
  }
  const onProgress = values.quiet ? undefined : progressReporter("re-encrypting");
  const common = {
    ...options,
    newEncKey: options.newEncKey as ReencryptOptions["newEncKey"],
    ...(onProgress ? { onProgress } : {}),
  };
  if (await isDirectory(input)) {
    const result = await reencryptModel(input, output, {
      ...common,
      ...bindingOptionsFrom(values),
    });
    process.stdout.write(
      `${input} -> ${output}: ${result.shards.length} shard(s) re-encrypted under fresh data keys and bound (set ${result.setId}); the old master key opens none of them\n`,
    );
    return 0;
  }
  const result = await reencryptFile(input, { ...common, output });
  process.stdout.write(
    `${input} -> ${result.output}: ${result.reencrypted} tensor(s) re-encrypted under fresh data keys (${result.bytes} bytes); the old master key opens nothing\n`,
  );
  return 0;
}
