// cryptotensors encrypt IN OUT: encrypts and signs a safetensors file, streaming tensor by tensor.
import { convertFile, CryptoTensorsError, keyRingFromEnv } from "../../index.js";
import { parse } from "../args.js";
import { layoutFromArgs } from "../encryption-args.js";
import { encryptDirectory, isDirectory } from "../model-commands.js";
import {
  closeProviders,
  heldMasterKey,
  heldSigningKey,
  KEY_PROVIDER_OPTION,
  keyProvidersFrom,
} from "../key-providers.js";
import { readKeySet, requireKeySet } from "../keys-file.js";
import { interruptible } from "../interrupt.js";
import { progressReporter } from "../progress.js";

export async function encrypt(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      keys: { type: "string" },
      "enc-kid": { type: "string" },
      "sign-kid": { type: "string" },
      "format-version": { type: "string" },
      "chunk-size": { type: "string" },
      tensor: { type: "string", multiple: true },
      policy: { type: "string" },
      alg: { type: "string" },
      quiet: { type: "boolean" },
      ...KEY_PROVIDER_OPTION,
    },
    ["IN", "OUT"],
  );
  const [input, output] = positionals as [string, string];
  const providers = await keyProvidersFrom(values);
  try {
    return await encryptWith(values, input, output, providers);
  } finally {
    closeProviders(providers);
  }
}

async function encryptWith(
  values: Record<string, unknown>,
  input: string,
  output: string,
  providers: Awaited<ReturnType<typeof keyProvidersFrom>>,
): Promise<number> {
  // With --key-provider, keys may live in a token: a key set is then optional.
  const ring =
    providers.length === 0
      ? await requireKeySet(values.keys as string | undefined)
      : ((await readKeySet(values.keys as string | undefined)) ??
        keyRingFromEnv(process.env) ??
        undefined);
  const encKid = values["enc-kid"] as string | undefined;
  const signKid = values["sign-kid"] as string | undefined;
  const alg = (values.alg as string | undefined) ?? "aes256gcm";
  const encKey = ring?.findMaster(encKid) ?? heldMasterKey(providers, encKid, alg);
  const signKey = ring?.findSigner(signKid) ?? heldSigningKey(providers, signKid);
  const where = providers.length > 0 ? "the key set or the key providers" : "the key set";
  const label =
    providers.length > 0 ? " (with --key-provider, name the token's key by its label)" : "";
  if (!encKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `${where} have no symmetric key${encKid ? ` with kid ${JSON.stringify(encKid)}` : `: pass --enc-kid${label}`}`,
    );
  if (!signKey)
    throw new CryptoTensorsError(
      "ERR_KEY_NOT_FOUND",
      `${where} have no Ed25519 private key${signKid ? ` with kid ${JSON.stringify(signKid)}` : `: pass --sign-kid${label}`}`,
    );
  const encryption = {
    encKey,
    signKey,
    ...(await layoutFromArgs(values)),
    ...(values.tensor ? { tensors: values.tensor as string[] } : {}),
  };
  if (await isDirectory(input))
    return encryptDirectory(input, output, encryption, values.quiet === true);
  const onProgress = values.quiet ? undefined : progressReporter("encrypting");
  await interruptible((signal) =>
    convertFile(input, output, { encryption, signal, ...(onProgress ? { onProgress } : {}) }),
  );
  return 0;
}
